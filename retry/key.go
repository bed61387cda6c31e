package retry

import (
	"crypto/rand"
	"fmt"
)

// HeaderKey is the idempotency key's header, from the IETF HTTPAPI draft
// "The Idempotency-Key HTTP Header Field".
const HeaderKey = "Idempotency-Key"

// NewKey returns a fresh idempotency key: a random (version 4) UUID as a
// Structured Field string, quotes included, as the draft's examples show:
//
//	Idempotency-Key: "8e03978e-40d5-43e8-bc93-6894a57f9324"
//
// Set it on a request once, before the first attempt; every retry then
// carries the same key, which is what lets the server answer a replay with
// the first answer instead of applying the write twice.
func NewKey() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf(`"%x-%x-%x-%x-%x"`, b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
