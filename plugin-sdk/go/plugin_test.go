package weft

// These run natively (go test): the generated imports have empty bodies off wasm, so only code
// that makes no cluster call is exercised here; the examples cover the rest in weft dev.

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/weft-dev/weft/plugin-sdk/go/internal/bindings/imports/weft_plugin_types"
)

type widget struct {
	TypeMeta
	ObjectMeta `json:"metadata"`
	Spec       struct {
		Size int `json:"size"`
	} `json:"spec"`
}

var widgets = Namespaced[widget]("examples.weft.dev", "v1", "Widget", "widgets")

type config struct {
	Greeting string `json:"greeting"`
	Times    int    `json:"times"`
}

func request(object, config string) weft_plugin_types.Request {
	return weft_plugin_types.Request{
		Object: refToWit(widgets.Ref("ns", "w1")),
		Json:   object,
		Reason: uint8(Requeued),
		Config: config,
	}
}

func TestDescriptionBecomesTheWitRecord(t *testing.T) {
	d := Describe("mirror", "1.2.3", widgets).
		Selector("app=web").
		Owns(ConfigMaps, "").
		RelatedByLabel(Secrets, "tier", "owner").
		Permit(ConfigMaps, "get", "patch").
		PermitStatus(widgets).
		Finalizer("weft.dev/cleanup").
		ReconcileOnStatusChange().d
	if d.Name != "mirror" || d.Primary.Api.Plural != "widgets" || d.Primary.LabelSelector.SomeOr("") != "app=web" {
		t.Fatalf("primary: %+v", d.Primary)
	}
	if d.Owns[0].Api.Kind != "ConfigMap" || d.Owns[0].LabelSelector.IsSome() {
		t.Fatalf("owns: %+v", d.Owns)
	}
	if r := d.Related[0]; r.Mapping.Tag() != weft_plugin_types.RelatedMapping_ByLabel || r.Mapping.ByLabel() != "owner" {
		t.Fatalf("related: %+v", r)
	}
	if p := d.Permissions[1]; p.ApiGroups[0] != "examples.weft.dev" || p.Resources[0] != "widgets/status" {
		t.Fatalf("permissions: %+v", d.Permissions)
	}
	if d.Finalizer.SomeOr("") != "weft.dev/cleanup" || !d.ReconcileOnStatusChange {
		t.Fatalf("finalizer or status: %+v", d)
	}
}

func TestErrorsBecomeFailures(t *testing.T) {
	cases := []struct {
		err       error
		permanent bool
		message   string
	}{
		{errors.New("boom"), false, "boom"},
		{Permanentf("bad %d", 1), true, "bad 1"},
		{Transient(&APIError{KindForbidden, "m"}), false, "forbidden: m"},
		{&APIError{KindForbidden, "m"}, true, "forbidden: m"},
		{&APIError{KindInvalid, "m"}, true, "invalid: m"},
		{&APIError{KindConflict, "m"}, false, "conflict: m"},
	}
	for _, c := range cases {
		f := toFailure(c.err)
		permanent := f.Tag() == weft_plugin_types.Failure_Permanent
		message := f.Transient
		if permanent {
			message = f.Permanent
		}
		if permanent != c.permanent || message() != c.message {
			t.Errorf("%v: permanent=%v message=%q", c.err, permanent, message())
		}
	}
	if !IsForbidden(Transient(&APIError{Kind: KindForbidden})) || IsNotFound(errors.New("x")) {
		t.Error("Is* must look through wrapping")
	}
}

func TestObjectsAreSentWithTheirTypeAndMetadata(t *testing.T) {
	w := &widget{}
	w.Name, w.Namespace = "w1", "ns"
	w.SetLabel("app", "web")
	w.Spec.Size = 3
	body, err := encode(widgets.ResourceType, w)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatal(err)
	}
	meta := got["metadata"].(map[string]any)
	if got["apiVersion"] != "examples.weft.dev/v1" || got["kind"] != "Widget" || meta["name"] != "w1" ||
		meta["labels"].(map[string]any)["app"] != "web" || got["spec"].(map[string]any)["size"] != 3.0 {
		t.Fatalf("encoded %s", body)
	}
	if !widgets.Is(widgets.Ref("ns", "w1")) || widgets.Is(ConfigMaps.Ref("ns", "w1")) {
		t.Fatal("Is compares kind and apiVersion")
	}
}

func TestReconcileGetsTypedObjectAndConfigOverDefaults(t *testing.T) {
	var seen *Context[config]
	var size int
	c := controller[widget, config]{&Plugin[widget, config]{
		Config: config{Greeting: "hello", Times: 1},
		Reconcile: func(ctx *Context[config], w *widget) (Action, error) {
			seen, size = ctx, w.Spec.Size
			return Done, nil
		},
	}}
	result := c.Reconcile(request(`{"metadata":{"name":"w1"},"spec":{"size":7}}`, `{"times":2}`))
	if result.IsErr() || result.Ok().Tag() != weft_plugin_types.Action_Done {
		t.Fatalf("result: %+v", result)
	}
	if size != 7 || seen.Config != (config{Greeting: "hello", Times: 2}) || seen.Trigger != Requeued || seen.Object.Name != "w1" {
		t.Fatalf("size %d context %+v", size, seen)
	}
	invalid := c.Reconcile(request(`{}`, `{"times":"two"}`))
	if invalid.IsOk() || invalid.Err().Tag() != weft_plugin_types.Failure_Permanent {
		t.Fatalf("invalid config: %+v", invalid)
	}
}

func TestPanicsBecomeTransientFailures(t *testing.T) {
	c := controller[widget, config]{&Plugin[widget, config]{
		Reconcile: func(*Context[config], *widget) (Action, error) { panic("on purpose") },
		MapRelated: func(*Context[config], Related) ([]ObjectRef, error) {
			var m map[string]int
			m["x"] = 1
			return nil, nil
		},
	}}
	result := c.Reconcile(request(`{}`, ""))
	if result.IsOk() || result.Err().Tag() != weft_plugin_types.Failure_Transient || result.Err().Transient() != "panic: on purpose" {
		t.Fatalf("reconcile: %+v", result)
	}
	mapped := c.MapRelated(request(`{}`, ""))
	if mapped.IsOk() || mapped.Err() != "panic: assignment to entry in nil map" {
		t.Fatalf("map-related: %+v", mapped)
	}
	if cleanup := c.Cleanup(request(`{}`, "")); cleanup.IsErr() {
		t.Fatalf("cleanup without a Cleanup: %+v", cleanup)
	}
}

func TestRequeueAfterIsMilliseconds(t *testing.T) {
	c := controller[widget, config]{&Plugin[widget, config]{
		Reconcile: func(*Context[config], *widget) (Action, error) { return RequeueAfter(1500 * time.Millisecond), nil },
	}}
	result := c.Reconcile(request(`{}`, ""))
	if result.IsErr() || result.Ok().Tag() != weft_plugin_types.Action_RequeueAfter || result.Ok().RequeueAfter() != 1500 {
		t.Fatalf("result: %+v", result)
	}
}
