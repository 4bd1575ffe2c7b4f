package wire

import (
	"bytes"
	"encoding/json"
	"time"
)

// Envelope is one JSON control frame. Payload stays raw until the
// receiver knows the type; Decode turns it into the type's struct.
type Envelope struct {
	Type      string          `json:"type"`
	ID        string          `json:"id,omitempty"`
	Timestamp int64           `json:"timestamp"` // sender's clock, unix ms
	Payload   json.RawMessage `json:"payload,omitempty"`
}

// Marshal encodes an envelope of type typ answering (or asking) id with
// payload, stamped with the current time. It does not escape <, > and &
// (frames are not HTML), so a name's encoding is at most twice its bytes
// (a quote or backslash) and the size bounds of the protocol hold.
func Marshal(typ, id string, payload any) ([]byte, error) {
	raw, err := marshalPlain(payload)
	if err != nil {
		return nil, &Error{Code: CodeInternal, Message: "encode " + typ + ": " + err.Error()}
	}
	return marshalPlain(Envelope{Type: typ, ID: id, Timestamp: time.Now().UnixMilli(), Payload: raw})
}

// marshalPlain is json.Marshal without HTML escaping.
func marshalPlain(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// MarshalError encodes an error envelope answering id.
func MarshalError(id string, e *Error) []byte {
	b, err := Marshal(TypeError, id, e)
	if err != nil { // an Error always encodes; keep the frame well-formed regardless
		b, _ = Marshal(TypeError, id, &Error{Code: CodeInternal, Message: "error encoding failed"})
	}
	return b
}

// DecodeEnvelope parses one text frame. It fails with CodeTooLarge for a
// frame over MaxFrameBytes and CodeBadRequest for anything that is not a
// JSON object with a type.
func DecodeEnvelope(data []byte) (Envelope, error) {
	var env Envelope
	if len(data) > MaxFrameBytes {
		return env, Errorf(CodeTooLarge, "frame of %d bytes exceeds %d", len(data), MaxFrameBytes)
	}
	if err := json.Unmarshal(data, &env); err != nil {
		return Envelope{}, Errorf(CodeBadRequest, "malformed envelope: %v", err)
	}
	if env.Type == "" {
		return Envelope{}, Errorf(CodeBadRequest, "envelope without type")
	}
	if len(env.Type) > MaxIDBytes || len(env.ID) > MaxIDBytes {
		return Envelope{}, Errorf(CodeBadRequest, "type or id longer than %d bytes", MaxIDBytes)
	}
	return env, nil
}

// validator is implemented by payloads that check their own fields.
type validator interface{ Validate() error }

// Decode unmarshals env's payload into a T and validates it. A missing or
// null payload decodes as T's zero value (then validated). Errors are
// *Error with CodeBadRequest or CodeTooLarge and Ref set to env.ID.
func Decode[T any](env Envelope) (T, error) {
	var v T
	if p := bytes.TrimSpace(env.Payload); len(p) > 0 && !bytes.Equal(p, []byte("null")) {
		if err := json.Unmarshal(p, &v); err != nil {
			return v, &Error{Code: CodeBadRequest, Message: env.Type + ": malformed payload: " + err.Error(), Ref: env.ID}
		}
	}
	if val, ok := any(&v).(validator); ok {
		if err := val.Validate(); err != nil {
			if e, ok := err.(*Error); ok {
				e.Ref = env.ID
				e.Message = env.Type + ": " + e.Message
				return v, e
			}
			return v, &Error{Code: CodeBadRequest, Message: env.Type + ": " + err.Error(), Ref: env.ID}
		}
	}
	return v, nil
}
