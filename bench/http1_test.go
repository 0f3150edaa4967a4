package bench

import (
	"bufio"
	"fmt"
	"net"
	"net/textproto"
	"strconv"
	"strings"
	"testing"
)

// leanGetter is the cheapest correct HTTP/1.1 client for one fixed GET on
// one keep-alive connection: the request bytes are built once, and the
// response is read with a bufio.Reader (status line, headers up to the
// blank line, Content-Length body). Client and server share this VM's two
// cores, so a net/http client (a goroutine pair, header maps and a body
// wrapper per request) would spend as much CPU as the handler it measures;
// with this one, a benchmark of a cheap route measures the server. It is
// used for both sides of a comparison, never for one side only.
type leanGetter struct {
	addr, path string
	req        []byte
	conn       net.Conn
	r          *bufio.Reader
}

func newLeanGetter(addr, path string) *leanGetter {
	return &leanGetter{addr: addr, path: path,
		req: []byte("GET " + path + " HTTP/1.1\r\nHost: " + addr + "\r\nUser-Agent: gatehouse-bench\r\n\r\n")}
}

// get sends the request and reads the response, returning the body length.
// A broken connection is redialled once per call.
func (g *leanGetter) get() (int, error) {
	for attempt := 0; ; attempt++ {
		if g.conn == nil {
			c, err := net.Dial("tcp", g.addr)
			if err != nil {
				return 0, err
			}
			g.conn, g.r = c, bufio.NewReaderSize(c, 16<<10)
		}
		n, err := g.roundTrip()
		if err == nil {
			return n, nil
		}
		g.close()
		if attempt > 0 {
			return 0, err
		}
	}
}

func (g *leanGetter) roundTrip() (int, error) {
	if _, err := g.conn.Write(g.req); err != nil {
		return 0, err
	}
	status, err := g.r.ReadSlice('\n')
	if err != nil {
		return 0, err
	}
	if len(status) < 12 || string(status[9:12]) != "200" {
		return 0, fmt.Errorf("GET %s: %q", g.path, strings.TrimSpace(string(status)))
	}
	length := -1
	for {
		line, err := g.r.ReadSlice('\n')
		if err != nil {
			return 0, err
		}
		if len(line) <= 2 { // the blank line ending the headers
			break
		}
		k, v, ok := strings.Cut(string(line), ":")
		if ok && textproto.CanonicalMIMEHeaderKey(k) == "Content-Length" {
			if length, err = strconv.Atoi(strings.TrimSpace(v)); err != nil {
				return 0, err
			}
		}
	}
	if length < 0 {
		return 0, fmt.Errorf("GET %s: no Content-Length", g.path)
	}
	_, err = g.r.Discard(length)
	return length, err
}

func (g *leanGetter) close() {
	if g.conn != nil {
		_ = g.conn.Close()
		g.conn, g.r = nil, nil
	}
}

// leanParallel runs GET path against addr from b's parallel goroutines,
// each on its own keep-alive connection, and checks every body is want
// bytes long.
func leanParallel(b *testing.B, addr, path string, want int) {
	b.SetParallelism(parallelism)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		g := newLeanGetter(addr, path)
		defer g.close()
		for pb.Next() {
			n, err := g.get()
			if err == nil && n != want {
				err = fmt.Errorf("GET %s: %d bytes, want %d", path, n, want)
			}
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}
