package grpclameduck_test

import (
	"testing"

	"github.com/lameduck-dev/lameduck/lameducktest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	lameducktest.RunChild(map[string]func() int{"grpc-service": runChild})
	goleak.VerifyTestMain(m)
}
