// Rolldown options for `jco componentize --bundle`: the weft:plugin interfaces are imports of the
// component, not modules to find on disk.
export default { external: [/^weft:/] };
