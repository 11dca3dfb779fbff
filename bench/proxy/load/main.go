// proxyload drives one Toxiproxy-compatible server (Shakedown's or Toxiproxy's) on
// 127.0.0.1 and prints one "key value" line per measurement. bench/proxy/run compares
// two servers' outputs as ratios. Standard library only.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"
)

var api string

// apiTimeout bounds every API call: Toxiproxy can block its API while toxics change under
// load (its handlers answer 503 after 25 s and stay stuck), which would stall the run.
const apiTimeout = 30 * time.Second

var client = &http.Client{Timeout: apiTimeout}

// call returns the status (0 on a transport error or timeout) and the call's duration.
func call(method, path, body string) (int, time.Duration) {
	req, _ := http.NewRequest(method, api+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	t := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		fmt.Fprintln(os.Stderr, "api:", err)
		return 0, time.Since(t)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, time.Since(t)
}

func ok(status int) bool { return status >= 200 && status < 300 }

// proxy (re)creates a proxy and returns the address it listens on. The answer is decoded
// as JSON: servers differ in whitespace, so byte-searching for `"listen":"` is not safe.
func proxy(name, upstream string) string {
	call("DELETE", "/proxies/"+name, "")
	req, _ := http.NewRequest("POST", api+"/proxies", strings.NewReader(
		fmt.Sprintf(`{"name":%q,"listen":"127.0.0.1:0","upstream":%q}`, name, upstream)))
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var p struct {
		Listen string `json:"listen"`
	}
	if err := json.Unmarshal(b, &p); err != nil || resp.StatusCode != 201 || p.Listen == "" {
		panic(fmt.Sprintf("create proxy %s: status %d: %s", name, resp.StatusCode, b))
	}
	return p.Listen
}

// maxIdle caps the idle-connection count to what the file-descriptor limit allows: each
// idle connection costs this process two descriptors (client end and the sink's accepted
// end) and the server two, and the server runs under the same limit.
func maxIdle(want int) int {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return want
	}
	// 1100: Shakedown keeps a reserve of 1024 descriptors out of its connection budget.
	if room := (int(lim.Cur) - 1100) / 2; room < want {
		fmt.Fprintf(os.Stderr, "idle: capping %d connections to %d (RLIMIT_NOFILE %d)\n", want, room, lim.Cur)
		return room
	}
	return want
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

// cpuMs is the server's user+system CPU time so far, in milliseconds (clock ticks of
// 10 ms, the usual USER_HZ). CPU per byte moved is far steadier than MB/s on a shared,
// loaded machine, where wall-clock throughput mostly measures the neighbours.
func cpuMs(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0
	}
	var ut, st float64
	fmt.Sscanf(f[11], "%f", &ut)
	fmt.Sscanf(f[12], "%f", &st)
	return (ut + st) * 10
}

func fds(pid int) int {
	entries, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return -1
	}
	return len(entries)
}

// churn opens and closes n short connections (one 1-byte round trip each, 50 at a time)
// and returns the server's descriptor count before and after, once it settled.
func churn(addr string, n, pid int) (int, int, int) {
	before := fds(pid)
	done, failed := 0, 0
	for done < n {
		var wg sync.WaitGroup
		var mu sync.Mutex
		for i := 0; i < 50 && done < n; i, done = i+1, done+1 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c, err := net.Dial("tcp", addr)
				if err == nil {
					b := []byte{1}
					c.SetDeadline(time.Now().Add(10 * time.Second))
					if _, err = c.Write(b); err == nil {
						_, err = io.ReadFull(c, b)
					}
					c.Close()
				}
				if err != nil {
					mu.Lock()
					failed++
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
	}
	after := fds(pid)
	for i := 0; i < 50 && after > before; i++ {
		time.Sleep(100 * time.Millisecond)
		after = fds(pid)
	}
	return before, after, failed
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
	churnN := flag.Int("churn", 20000, "short connections for the descriptor-leak check (ephemeral ports limit this)")
	flag.Parse()

	src, ech, snk := upstream(source), upstream(echo), upstream(sink)
	// Created first: Toxiproxy's API can stay wedged after the streaming phase.
	ch := proxy("bench_churn", ech)

	direct := throughput(src, *secs)
	fmt.Printf("direct_throughput_MBps %.1f\n", direct)
	p := proxy("bench_tp", src)
	cpu0 := cpuMs(*pid)
	tp := throughput(p, *secs)
	cpu := cpuMs(*pid) - cpu0
	fmt.Printf("throughput_MBps %.1f\nthroughput_pct_of_direct %.1f\n", tp, 100*tp/direct)
	if *pid != 0 && tp > 0 {
		fmt.Printf("throughput_cpu_ms_per_GB %.0f\n", cpu/(tp**secs/1000))
	}

	d := rtts(ech, 2000)
	fmt.Printf("direct_rtt_p50_us %d\ndirect_rtt_p99_us %d\n", pct(d, .5).Microseconds(), pct(d, .99).Microseconds())
	e := proxy("bench_rtt", ech)
	r := rtts(e, 2000)
	fmt.Printf("rtt_p50_us %d\nrtt_p99_us %d\n", pct(r, .5).Microseconds(), pct(r, .99).Microseconds())

	call("POST", "/proxies/bench_rtt/toxics", `{"type":"latency","attributes":{"latency":100}}`)
	// 200 samples: the p99 of 50 would be the second-worst sample, i.e. the noise.
	l := rtts(e, 200)
	fmt.Printf("latency100_p50_ms %.2f\nlatency100_p99_ms %.2f\n", float64(pct(l, .5).Microseconds())/1000, float64(pct(l, .99).Microseconds())/1000)
	call("DELETE", "/proxies/bench_rtt/toxics/latency_downstream", "")

	bw := proxy("bench_bw", src)
	call("POST", "/proxies/bench_bw/toxics", `{"type":"bandwidth","attributes":{"rate":1000}}`)
	fmt.Printf("bandwidth1000_KBps %.1f\n", throughput(bw, *secs)*1000)

	// CPU per GB through a 10 ms latency toxic: the cost of timing every chunk's release.
	lt := proxy("bench_lat_tp", src)
	call("POST", "/proxies/bench_lat_tp/toxics", `{"type":"latency","attributes":{"latency":10}}`)
	cpu1 := cpuMs(*pid)
	ltp := throughput(lt, *secs)
	fmt.Printf("latency10_throughput_MBps %.1f\n", ltp)
	if *pid != 0 && ltp > 0 {
		fmt.Printf("latency10_cpu_ms_per_GB %.0f\n", (cpuMs(*pid)-cpu1)/(ltp**secs/1000))
	}
	call("DELETE", "/proxies/bench_lat_tp", "")

	id := proxy("bench_idle", snk)
	base := rss(*pid)
	*idle = maxIdle(*idle)
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
	dialed := 0
	for i := 0; i < *streams; i++ {
		c, err := net.Dial("tcp", st)
		if err != nil {
			fmt.Fprintln(os.Stderr, "stream dial:", err)
			break
		}
		dialed++
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
	fmt.Printf("stream_conns %d\n", dialed)
	var worst time.Duration
	api_lat := []time.Duration{}
	failures := 0
	for i := 0; i < 20 && failures == 0; i++ {
		sa, a := call("POST", "/proxies/bench_stream/toxics", `{"type":"latency","name":"l","attributes":{"latency":10}}`)
		sb, b := call("DELETE", "/proxies/bench_stream/toxics/l", "")
		api_lat = append(api_lat, a, b)
		for _, d := range []time.Duration{a, b} {
			if d > worst {
				worst = d
			}
		}
		// A failed or timed-out call means the API is stuck; more rounds only wait longer.
		if !ok(sa) || !ok(sb) {
			failures++
		}
	}
	fmt.Printf("api_under_load_p50_ms %.2f\napi_under_load_max_ms %.2f\napi_under_load_failed_rounds %d\n", float64(pct(api_lat, .5).Microseconds())/1000, float64(worst.Microseconds())/1000, failures)
	fmt.Printf("stream_rss_MiB %.1f\n", float64(rss(*pid))/1048576)
	close(stop)
	wg.Wait()
	call("DELETE", "/proxies/bench_stream", "")

	before, after, failed := churn(ch, *churnN, *pid)
	fmt.Printf("churn_conns %d\nchurn_failed %d\nchurn_fd_delta %d\n", *churnN, failed, after-before)
}
