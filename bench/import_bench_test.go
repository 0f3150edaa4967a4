package bench

// BenchmarkImport measures `gatehouse import` end to end: the importer
// (internal/importer.Run, reading a generic JSONL export, batching,
// writing its state file) with its real gRPC client against a real server
// on loopback, on SQLite and PostgreSQL. The export has N users (env
// GATEHOUSE_BENCH_IMPORT_USERS, default 100,000) in N/100 organizations,
// each user with a bcrypt hash (pre-computed strings: the import checks
// their format, it does not verify them), metadata and one membership with
// a role (user i in organization i mod N/100, so every batch of 1,000
// users touches 1,000 organizations). Writing the export is outside the
// timed part; reading it is inside, as it is for the command. Beside it, on
// the same server just before, the GetOrganization baseline of
// api_bench_test.go, so that results compare as ratios on this shared
// machine, and the process's CPU time per user (importer and server; not
// PostgreSQL's), which moves far less than users/s under load.
// GATEHOUSE_BENCH_IMPORT_CONCURRENCY overrides the batches in flight.
//
// The measurement, 1,000,000 users in 10,000 organizations:
//
//	GATEHOUSE_BENCH_IMPORT_USERS=1000000 GATEHOUSE_TEST_POSTGRES_URL=... \
//	  go test ./bench/ -run '^$' -bench Import -benchtime 1x -timeout 60m
//
// docs/benchmarks.md has the results.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"connectrpc.com/connect"

	organizationsv1 "github.com/gatehouse/gatehouse/gen/scalekit/v1/organizations"
	"github.com/gatehouse/gatehouse/internal/importer"
)

// importUsers is the export's size: GATEHOUSE_BENCH_IMPORT_USERS, or
// 100,000 (under a minute per database on the 2-core machine).
func importUsers(b *testing.B) int {
	v := os.Getenv("GATEHOUSE_BENCH_IMPORT_USERS")
	if v == "" {
		return 100_000
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 100 {
		b.Fatalf("GATEHOUSE_BENCH_IMPORT_USERS=%q: want a number of users, at least 100", v)
	}
	return n
}

// importConcurrency is the batches in flight: GATEHOUSE_BENCH_IMPORT_CONCURRENCY,
// or the command's default.
func importConcurrency(b *testing.B) int {
	v := os.Getenv("GATEHOUSE_BENCH_IMPORT_CONCURRENCY")
	if v == "" {
		return importer.DefaultConcurrency
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		b.Fatalf("GATEHOUSE_BENCH_IMPORT_CONCURRENCY=%q: want a number of batches, at least 1", v)
	}
	return n
}

// BenchmarkImport reports users/s of a whole import into an empty server,
// and its ratio to the GetOrganization baseline measured on the same
// server just before it.
func BenchmarkImport(b *testing.B) {
	n, concurrency := importUsers(b), importConcurrency(b)
	export := filepath.Join(b.TempDir(), "export.jsonl")
	writeExport(b, export, n, n/100)
	databases(b, func(b *testing.B, postgres bool) {
		b.Run(fmt.Sprintf("users-%d", n), func(b *testing.B) {
			var baseline, cpu, pgCPU float64
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				e := setup(b, postgres)
				baseline += measureBaseline(b, e, 2*time.Second) / float64(b.N)
				cfg := importer.Config{
					Format: "generic", Files: []string{export},
					Conn:      importer.NewConn(e.in.URL, func(context.Context, bool) (string, error) { return e.token, nil }),
					BatchSize: importer.MaxBatchSize, Concurrency: concurrency,
					StatePath: filepath.Join(b.TempDir(), "state"), Progress: io.Discard,
				}
				cpu0, pg0 := processCPU(b), backendCPU(b, e, postgres)
				b.StartTimer()
				sum, err := importer.Run(context.Background(), cfg)
				b.StopTimer()
				cpu += processCPU(b) - cpu0
				for pid, t := range backendCPU(b, e, postgres) {
					pgCPU += t - pg0[pid]
				}
				if err != nil {
					b.Fatal(err)
				}
				if sum.Users.Created != n || sum.Users.Failed != 0 || sum.Organizations.Created != n/100 {
					b.Fatalf("imported organizations %+v, users %+v; want %d and %d created", sum.Organizations, sum.Users, n/100, n)
				}
				b.StartTimer()
			}
			rate := float64(n) * float64(b.N) / b.Elapsed().Seconds()
			b.ReportMetric(rate, "users/s")
			b.ReportMetric(baseline, "baseline-ops/s")
			b.ReportMetric(rate/baseline, "ratio-to-baseline")
			b.ReportMetric(cpu/float64(n*b.N)*1e6, "cpu-µs/user")
			if postgres {
				b.ReportMetric(pgCPU/float64(n*b.N)*1e6, "pg-cpu-µs/user")
			}
		})
	})
}

// processCPU is the CPU time this process (importer and server, not
// PostgreSQL) has used, in seconds. CPU per user moves far less than
// users/s when other work shares the machine.
func processCPU(b *testing.B) float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// backendCPU is the CPU time, in seconds, of each PostgreSQL backend
// serving the server's database (none on SQLite), read from /proc: the
// server runs on this machine. It leaves out PostgreSQL's shared
// processes (WAL writer, checkpointer, autovacuum), so it understates
// PostgreSQL's share somewhat; the server keeps its connections open, so
// none is missed by closing during the import.
func backendCPU(b *testing.B, e *env, postgres bool) map[int]float64 {
	out := map[int]float64{}
	if !postgres {
		return out
	}
	rows, err := e.in.Server.Store().DB().QueryContext(context.Background(),
		`SELECT pid FROM pg_stat_activity WHERE datname = current_database()`)
	if err != nil {
		b.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var pid int
		must(b, rows.Scan(&pid))
		raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue // gone, or PostgreSQL is on another machine
		}
		// Fields after the command's closing parenthesis: state is the
		// first, utime and stime (clock ticks, 100 a second) the 12th
		// and 13th.
		f := strings.Fields(string(raw[bytes.LastIndexByte(raw, ')')+1:]))
		utime, _ := strconv.ParseFloat(f[11], 64)
		stime, _ := strconv.ParseFloat(f[12], 64)
		out[pid] = (utime + stime) / 100
	}
	must(b, rows.Err())
	return out
}

// measureBaseline runs the GetOrganization baseline (api_bench_test.go)
// for d, from 16 clients per CPU, and returns its calls per second. It
// runs for a fixed time rather than b.N calls, since an import benchmark
// runs once (b.N is 1).
func measureBaseline(b *testing.B, e *env, d time.Duration) float64 {
	req := &organizationsv1.GetOrganizationRequest{Identities: &organizationsv1.GetOrganizationRequest_Id{Id: e.orgID}}
	var calls atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < parallelism*runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Since(start) < d {
				if _, err := e.orgs.GetOrganization(context.Background(), connect.NewRequest(req)); err != nil {
					b.Error(err)
					return
				}
				calls.Add(1)
			}
		}()
	}
	wg.Wait()
	return float64(calls.Load()) / time.Since(start).Seconds()
}

// writeExport writes a generic JSONL export of users users in orgs
// organizations. Every user has a distinct bcrypt-format hash (random salt
// and digest in bcrypt's alphabet, cost 10), two metadata keys and one
// membership, every tenth as admin.
func writeExport(b *testing.B, path string, users, orgs int) {
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	enc := json.NewEncoder(w)
	for i := 0; i < orgs; i++ {
		must(b, enc.Encode(map[string]any{"type": "organization", "external_id": fmt.Sprintf("org-%06d", i),
			"display_name": fmt.Sprintf("Organization %d", i), "metadata": map[string]string{"plan": "enterprise"}}))
	}
	rng := rand.New(rand.NewPCG(1, 2))
	const alphabet = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	hash := make([]byte, 60)
	copy(hash, "$2b$10$")
	for i := 0; i < users; i++ {
		for j := 7; j < len(hash); j++ {
			hash[j] = alphabet[rng.IntN(len(alphabet))]
		}
		role := "member"
		if i%10 == 0 {
			role = "admin"
		}
		must(b, enc.Encode(map[string]any{"type": "user", "email": fmt.Sprintf("user%07d@example.com", i),
			"external_id": fmt.Sprintf("usr-%07d", i), "first_name": "Bench", "last_name": fmt.Sprintf("User %d", i),
			"email_verified": true, "password_hash": string(hash),
			"metadata":    map[string]string{"department": fmt.Sprintf("dept-%d", i%50), "source": "legacy"},
			"memberships": []map[string]any{{"organization_external_id": fmt.Sprintf("org-%06d", i%orgs), "roles": []string{role}}}}))
	}
	must(b, w.Flush())
	must(b, f.Close())
}

func must(b *testing.B, err error) {
	if err != nil {
		b.Fatal(err)
	}
}
