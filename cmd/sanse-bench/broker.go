package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/sanse-campus/sanse/engine/event"
	"github.com/sanse-campus/sanse/engine/ingest"
)

// brokerTopics are the topics of the built-in sources and the dead letters.
func brokerTopics() []string {
	var out []string
	for _, s := range event.Builtin().Sources() {
		out = append(out, s.Topic)
	}
	return append(out, ingest.DefaultDeadLetterTopic)
}

// cmdBroker runs `sanse-bench broker`: the embedded broker of engine/ingest
// (franz-go's kfake) as a process of its own, every built-in topic created
// with the given partitions, nothing dropped by retention and everything
// kept in memory. It prints its address on the first line of stdout and
// runs until ctx ends or its standard input is closed, so that it does not
// outlive the benchmark that started it.
func cmdBroker(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("broker", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:0", "address to listen on")
	partitions := fs.Int("partitions", 8, "partitions of each topic")
	if err := fs.Parse(args); err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	b, err := ingest.StartBroker(ingest.BrokerOptions{
		ListenAddr: *listen, Topics: brokerTopics(), Partitions: int32(*partitions),
		Retention: -1, RetentionBytes: -1,
	}, logger)
	if err != nil {
		return err
	}
	defer b.Close()
	fmt.Fprintln(stdout, strings.Join(b.Addrs(), ","))
	eof := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, stdin)
		close(eof)
	}()
	select {
	case <-ctx.Done():
	case <-eof:
	}
	return nil
}

// brokerProcess is the broker started as a child process.
type brokerProcess struct {
	cmd   *exec.Cmd
	stdin io.Closer
	addr  string
	done  chan struct{}
}

// startBrokerProcess starts this binary's broker subcommand with its log
// in logFile and returns once it prints its address.
func startBrokerProcess(partitions int, logFile *os.File) (*brokerProcess, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self, "broker", "-partitions", fmt.Sprint(partitions))
	cmd.Stderr = logFile
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start the broker: %w", err)
	}
	p := &brokerProcess{cmd: cmd, stdin: stdin, done: make(chan struct{})}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		if sc.Scan() {
			addr <- sc.Text()
		}
		close(addr)
		_, _ = io.Copy(io.Discard, stdout)
	}()
	go func() {
		_ = cmd.Wait()
		close(p.done)
	}()
	select {
	case a, ok := <-addr:
		if !ok || a == "" {
			p.stop()
			return nil, errors.New("the broker exited before it listened; see " + logFile.Name())
		}
		p.addr = a
	case <-time.After(time.Minute):
		p.stop()
		return nil, errors.New("the broker did not listen within a minute; see " + logFile.Name())
	}
	return p, nil
}

// pid is the broker's process id.
func (p *brokerProcess) pid() int { return p.cmd.Process.Pid }

// stop closes the broker's standard input, which ends it, and kills it if
// it has not exited within ten seconds.
func (p *brokerProcess) stop() {
	_ = p.stdin.Close()
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}
