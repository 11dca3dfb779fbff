// proxyload drives one Toxiproxy-compatible server (Shakedown's or Toxiproxy's) on
// 127.0.0.1 and prints one "key value" line per measurement. bench/proxy/run compares
// two servers' outputs as ratios. Standard library only.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"time"
)

var api string

func call(method, path, body string) (int, time.Duration) {
	req, _ := http.NewRequest(method, api+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	t := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Fprintln(os.Stderr, "api:", err)
		return 0, time.Since(t)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, time.Since(t)
}

func proxy(name, upstream string) string {
	call("DELETE", "/proxies/"+name, "")
	req, _ := http.NewRequest("POST", api+"/proxies", strings.NewReader(
		fmt.Sprintf(`{"name":%q,"listen":"127.0.0.1:0","upstream":%q}`, name, upstream)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	i := bytes.Index(b, []byte(`"listen":"`))
	rest := b[i+10:]
	return string(rest[:bytes.IndexByte(rest, '"')])
}

// echo and sink upstreams
func upstream(handler func(net.Conn)) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go handler(c)
		}
	}()
	return l.Addr().String()
}

func echo(c net.Conn) { io.Copy(c, c); c.Close() }
func sink(c net.Conn) { io.Copy(io.Discard, c); c.Close() }
func source(c net.Conn) {
	buf := make([]byte, 64*1024)
	for {
		if _, err := c.Write(buf); err != nil {
			c.Close()
			return
		}
	}
}

func pct(d []time.Duration, p float64) time.Duration {
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	return d[int(float64(len(d)-1)*p)]
}

func throughput(addr string, secs float64) float64 {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		panic(err)
	}
	defer c.Close()
	buf := make([]byte, 64*1024)
	var n int64
	deadline := time.Now().Add(time.Duration(secs * float64(time.Second)))
	for time.Now().Before(deadline) {
		k, err := c.Read(buf)
		if err != nil {
			break
		}
		n += int64(k)
	}
	return float64(n) / secs / 1e6
}

func rtts(addr string, n int) []time.Duration {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		panic(err)
	}
	defer c.Close()
	msg := make([]byte, 1024)
	out := make([]time.Duration, 0, n)
	for i := 0; i < n; i++ {
		t := time.Now()
		c.Write(msg)
		io.ReadFull(c, msg)
		out = append(out, time.Since(t))
	}
	return out
}

func rss(pid int) int64 {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmRSS:") {
			var kb int64
			fmt.Sscanf(strings.TrimSpace(l[6:]), "%d", &kb)
			return kb * 1024
		}
	}
	return 0
}

func main() {
	flag.StringVar(&api, "api", "http://127.0.0.1:8474", "API URL")
	pid := flag.Int("pid", 0, "server pid (for RSS)")
	idle := flag.Int("idle", 10000, "idle connections")
	streams := flag.Int("streams", 1000, "streaming connections during API changes")
	secs := flag.Float64("secs", 3, "seconds per throughput run")
	flag.Parse()

	src, ech, snk := upstream(source), upstream(echo), upstream(sink)

	direct := throughput(src, *secs)
	fmt.Printf("direct_throughput_MBps %.1f\n", direct)
	p := proxy("bench_tp", src)
	fmt.Printf("throughput_MBps %.1f\n", throughput(p, *secs))

	d := rtts(ech, 2000)
	fmt.Printf("direct_rtt_p50_us %d\ndirect_rtt_p99_us %d\n", pct(d, .5).Microseconds(), pct(d, .99).Microseconds())
	e := proxy("bench_rtt", ech)
	r := rtts(e, 2000)
	fmt.Printf("rtt_p50_us %d\nrtt_p99_us %d\n", pct(r, .5).Microseconds(), pct(r, .99).Microseconds())

	call("POST", "/proxies/bench_rtt/toxics", `{"type":"latency","attributes":{"latency":100}}`)
	l := rtts(e, 50)
	fmt.Printf("latency100_p50_ms %.2f\nlatency100_p99_ms %.2f\n", float64(pct(l, .5).Microseconds())/1000, float64(pct(l, .99).Microseconds())/1000)
	call("DELETE", "/proxies/bench_rtt/toxics/latency_downstream", "")

	bw := proxy("bench_bw", src)
	call("POST", "/proxies/bench_bw/toxics", `{"type":"bandwidth","attributes":{"rate":1000}}`)
	fmt.Printf("bandwidth1000_KBps %.1f\n", throughput(bw, *secs)*1000)

	id := proxy("bench_idle", snk)
	base := rss(*pid)
	conns := make([]net.Conn, 0, *idle)
	for i := 0; i < *idle; i++ {
		c, err := net.Dial("tcp", id)
		if err != nil {
			fmt.Fprintln(os.Stderr, "idle dial:", err)
			break
		}
		conns = append(conns, c)
	}
	time.Sleep(2 * time.Second)
	fmt.Printf("idle_conns %d\nidle_rss_MiB %.1f\nidle_rss_delta_MiB %.1f\n", len(conns), float64(rss(*pid))/1048576, float64(rss(*pid)-base)/1048576)
	for _, c := range conns {
		c.Close()
	}

	st := proxy("bench_stream", src)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for i := 0; i < *streams; i++ {
		c, err := net.Dial("tcp", st)
		if err != nil {
			break
		}
		wg.Add(1)
		go func(c net.Conn) {
			defer wg.Done()
			buf := make([]byte, 1024) // slow reader: the proxy queues data
			for {
				select {
				case <-stop:
					c.Close()
					return
				default:
				}
				c.SetReadDeadline(time.Now().Add(time.Second))
				if _, err := c.Read(buf); err != nil {
					if ne, ok := err.(net.Error); ok && ne.Timeout() {
						continue
					}
					return
				}
				time.Sleep(time.Millisecond)
			}
		}(c)
	}
	time.Sleep(time.Second)
	var worst time.Duration
	api_lat := []time.Duration{}
	for i := 0; i < 20; i++ {
		_, a := call("POST", "/proxies/bench_stream/toxics", `{"type":"latency","name":"l","attributes":{"latency":10}}`)
		_, b := call("DELETE", "/proxies/bench_stream/toxics/l", "")
		api_lat = append(api_lat, a, b)
		if a > worst {
			worst = a
		}
		if b > worst {
			worst = b
		}
	}
	fmt.Printf("api_under_load_p50_ms %.2f\napi_under_load_max_ms %.2f\n", float64(pct(api_lat, .5).Microseconds())/1000, float64(worst.Microseconds())/1000)
	close(stop)
	wg.Wait()
}
