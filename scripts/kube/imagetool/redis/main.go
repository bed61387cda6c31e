// Command redis serves the Redis protocol from memory (github.com/alicebob/miniredis) for the
// demo counter service in the test cluster: no Redis image can be pulled here and Debian's
// redis-server is dynamically linked, so the Redis pod runs this static binary instead. It
// covers the commands the demo uses (INCR, GET, SET, DEL, PING). Address: $REDIS_LISTEN
// (default :6379). It exits 0 on SIGTERM; the data lives only as long as the pod.
package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/alicebob/miniredis/v2"
)

func main() {
	addr := os.Getenv("REDIS_LISTEN")
	if addr == "" {
		addr = ":6379"
	}
	m := miniredis.NewMiniRedis()
	if err := m.StartAddr(addr); err != nil {
		fmt.Fprintln(os.Stderr, "redis:", err)
		os.Exit(1)
	}
	fmt.Println("redis: serving on", m.Addr())
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGTERM, syscall.SIGINT)
	<-c
	m.Close()
}
