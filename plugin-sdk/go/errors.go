package weft

import (
	"errors"
	"fmt"

	"github.com/weft-dev/weft/plugin-sdk/go/internal/bindings/imports/weft_plugin_types"
)

// ErrorKind says why a cluster call failed.
type ErrorKind uint8

const (
	KindNotFound ErrorKind = iota
	KindAlreadyExists
	KindConflict
	// KindForbidden: the plugin was not granted the call, or the API server refused it.
	KindForbidden
	// KindInvalid: the request or the object was rejected as invalid.
	KindInvalid
	// KindTransient: timeouts, unavailable servers, throttling; worth retrying.
	KindTransient
)

var kindNames = [...]string{"not-found", "already-exists", "conflict", "forbidden", "invalid", "transient"}

func (k ErrorKind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("ErrorKind(%d)", uint8(k))
}

// APIError is a failed cluster call. Check for one with errors.As, or with IsNotFound,
// IsForbidden and friends.
type APIError struct {
	Kind    ErrorKind
	Message string
}

func (e *APIError) Error() string { return e.Kind.String() + ": " + e.Message }

func fromWit(e weft_plugin_types.ApiError) error {
	return &APIError{Kind: ErrorKind(e.Kind), Message: e.Message}
}

// decodeError is an object from the host that does not fit the plugin's Go type.
func decodeError(err error) error {
	return &APIError{Kind: KindInvalid, Message: "decoding object: " + err.Error()}
}

// KindOf returns the kind of the *APIError in err's chain, if there is one.
func KindOf(err error) (ErrorKind, bool) {
	var e *APIError
	if errors.As(err, &e) {
		return e.Kind, true
	}
	return 0, false
}

func isKind(err error, kind ErrorKind) bool {
	k, ok := KindOf(err)
	return ok && k == kind
}

func IsNotFound(err error) bool      { return isKind(err, KindNotFound) }
func IsAlreadyExists(err error) bool { return isKind(err, KindAlreadyExists) }
func IsConflict(err error) bool      { return isKind(err, KindConflict) }
func IsForbidden(err error) bool     { return isKind(err, KindForbidden) }
func IsInvalid(err error) bool       { return isKind(err, KindInvalid) }

// Failure is an error returned from a reconcile that says whether to retry. Make one with
// Transient or Permanent.
type Failure struct {
	// Permanent failures are not retried until the object or the plugin changes; the others are
	// retried with exponential backoff.
	Permanent bool
	Err       error
}

func (f *Failure) Error() string { return f.Err.Error() }
func (f *Failure) Unwrap() error { return f.Err }

// Transient marks err as worth retrying with backoff.
func Transient(err error) error { return &Failure{Err: err} }

// Permanent marks err as not worth retrying until the object or the plugin changes.
func Permanent(err error) error { return &Failure{Permanent: true, Err: err} }

// Transientf is Transient(fmt.Errorf(format, args...)).
func Transientf(format string, args ...any) error { return Transient(fmt.Errorf(format, args...)) }

// Permanentf is Permanent(fmt.Errorf(format, args...)).
func Permanentf(format string, args ...any) error { return Permanent(fmt.Errorf(format, args...)) }

// toFailure decides how the host treats an error from a reconcile: as marked by Transient or
// Permanent; otherwise forbidden and invalid cluster calls, which fail the same way next time, are
// permanent, and everything else is transient.
func toFailure(err error) weft_plugin_types.Failure {
	var f *Failure
	permanent := false
	switch {
	case errors.As(err, &f):
		permanent = f.Permanent
	case IsForbidden(err), IsInvalid(err):
		permanent = true
	}
	if permanent {
		return weft_plugin_types.MakeFailurePermanent(err.Error())
	}
	return weft_plugin_types.MakeFailureTransient(err.Error())
}
