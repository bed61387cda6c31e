package stream_test

import (
	"errors"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/lameduck-dev/lameduck/stream"
)

func TestEventsFormat(t *testing.T) {
	rec := httptest.NewRecorder()
	ev, err := stream.NewEvents(rec)
	if err != nil {
		t.Fatal(err)
	}
	if !rec.Flushed || rec.Code != 200 {
		t.Fatalf("status %d flushed %v: the stream must be open before the first event", rec.Code, rec.Flushed)
	}
	for k, v := range map[string]string{"Content-Type": "text/event-stream", "Cache-Control": "no-cache"} {
		if got := rec.Header().Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if err := ev.Send(stream.Event{Data: "one"}); err != nil {
		t.Fatal(err)
	}
	if err := ev.Send(stream.Event{ID: "7", Name: "bye", Data: "a\nb\r\nc", Retry: 1500 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	if err := ev.Comment("ping\nx"); err != nil {
		t.Fatal(err)
	}
	want := "data: one\n\nid: 7\nevent: bye\nretry: 1500\ndata: a\ndata: b\ndata: c\n\n: ping x\n\n"
	if got := rec.Body.String(); got != want {
		t.Fatalf("body:\n%q\nwant\n%q", got, want)
	}
	if err := ev.Send(stream.Event{Name: "a\nb"}); !errors.Is(err, stream.ErrBadField) {
		t.Fatalf("newline in name: %v, want ErrBadField", err)
	}
}
