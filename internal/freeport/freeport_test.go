package freeport

import (
	"net"
	"strconv"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestPortIsFreeAndBelowTheEphemeralRange(t *testing.T) {
	high := ephemeralLow()
	for range 20 {
		p, err := Port()
		if err != nil {
			t.Fatal(err)
		}
		if p < low || p >= high {
			t.Errorf("port %d outside %d–%d", p, low, high-1)
		}
		ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
		if err != nil {
			t.Fatalf("port %d is not free: %v", p, err)
		}
		ln.Close()
	}
}

// TestPortTakenOnAnotherAddressIsNotFree: a listener on one address other
// than 127.0.0.1 (as a kubelet on its node IP) makes the port unusable
// for a child that binds all addresses, so it is not free.
func TestPortTakenOnAnotherAddressIsNotFree(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	p := ln.Addr().(*net.TCPAddr).Port
	if c, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p))); err == nil {
		c.Close() // the old probe's view: free on 127.0.0.1
	} else {
		t.Fatalf("127.0.0.1:%d: %v", p, err)
	}
	if free(p) {
		t.Fatalf("port %d is taken on 127.0.0.2 but free() says free", p)
	}
}
