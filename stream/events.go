package stream

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// DefaultWriteTimeout bounds each write of an event stream: a client that
// has not taken an event within this time is treated as gone.
const DefaultWriteTimeout = 10 * time.Second

// Event is one Server-Sent Event. Empty fields are left out.
type Event struct {
	// ID sets the client's last event ID (sent back in Last-Event-ID when
	// it reconnects). It must not contain a newline.
	ID string
	// Name is the event type ("event:" field); the client's default is
	// "message". It must not contain a newline.
	Name string
	// Data is the payload; each line becomes a "data:" field.
	Data string
	// Retry tells the client how long to wait before reconnecting.
	Retry time.Duration
}

// Events writes a Server-Sent Events stream (text/event-stream) and
// flushes every event. It is not safe for concurrent use.
type Events struct {
	w  http.ResponseWriter
	rc *http.ResponseController
	// WriteTimeout bounds each Send and Comment (DefaultWriteTimeout if
	// zero; negative disables). It needs a ResponseWriter that supports
	// SetWriteDeadline, as net/http's do.
	WriteTimeout time.Duration
}

// NewEvents starts an event stream on w: it sets the headers, sends the
// 200 status and flushes it, so the client knows the stream is open. Call
// it before writing anything else to w.
func NewEvents(w http.ResponseWriter) (*Events, error) {
	e := &Events{w: w, rc: http.NewResponseController(w)}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	if err := e.deadline(); err != nil {
		return nil, err
	}
	w.WriteHeader(http.StatusOK)
	if err := e.rc.Flush(); err != nil {
		return nil, fmt.Errorf("lameduck/stream: cannot flush an event stream: %w", err)
	}
	return e, nil
}

// ErrBadField is returned by Send for an ID or Name containing a newline.
var ErrBadField = errors.New("lameduck/stream: event ID and name must not contain a newline")

// Send writes ev and flushes it.
func (e *Events) Send(ev Event) error {
	if strings.ContainsAny(ev.ID, "\r\n") || strings.ContainsAny(ev.Name, "\r\n") {
		return ErrBadField
	}
	var b strings.Builder
	if ev.ID != "" {
		b.WriteString("id: " + ev.ID + "\n")
	}
	if ev.Name != "" {
		b.WriteString("event: " + ev.Name + "\n")
	}
	if ev.Retry > 0 {
		b.WriteString("retry: " + strconv.FormatInt(ev.Retry.Milliseconds(), 10) + "\n")
	}
	data := strings.ReplaceAll(ev.Data, "\r\n", "\n")
	for _, line := range strings.Split(data, "\n") {
		b.WriteString("data: " + line + "\n")
	}
	b.WriteString("\n")
	return e.write(b.String())
}

// Comment writes a comment line, which clients ignore: a heartbeat that
// keeps proxies from closing an idle stream and finds dead clients.
func (e *Events) Comment(text string) error {
	text = strings.NewReplacer("\r", " ", "\n", " ").Replace(text)
	return e.write(": " + text + "\n\n")
}

func (e *Events) write(s string) error {
	if err := e.deadline(); err != nil {
		return err
	}
	if _, err := e.w.Write([]byte(s)); err != nil {
		return err
	}
	return e.rc.Flush()
}

// deadline sets the write deadline of the next write.
func (e *Events) deadline() error {
	d := e.WriteTimeout
	if d == 0 {
		d = DefaultWriteTimeout
	}
	if d < 0 {
		return nil
	}
	err := e.rc.SetWriteDeadline(time.Now().Add(d))
	if errors.Is(err, http.ErrNotSupported) {
		return nil // a ResponseWriter without deadlines (httptest.ResponseRecorder)
	}
	return err
}
