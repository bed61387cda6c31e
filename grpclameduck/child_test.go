package grpclameduck_test

const childEnv = "LAMEDUCK_GRPC_TEST_CHILD"

func runChild() int { return 0 }
