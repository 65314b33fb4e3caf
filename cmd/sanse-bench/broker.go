package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

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

// cmdBroker runs `sanse-bench broker`: franz-go's kfake, the broker that
// engine/ingest embeds, as a process of its own, with every built-in topic
// created with the given partitions and everything kept in memory. Nothing
// is dropped by age or size; what the benchmark deletes (DeleteRecords) is
// freed a segment at a time, so segments are small. It prints its address
// on the first line of stdout and runs until ctx ends or its standard
// input is closed, so that it does not outlive the benchmark that started it.
func cmdBroker(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("broker", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:0", "address to listen on")
	partitions := fs.Int("partitions", 8, "partitions of each topic")
	segment := fs.Int("segment-bytes", 16<<20, "bytes of each log segment, the unit in which deleted records are freed")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cluster, err := kfake.NewCluster(
		kfake.NumBrokers(1),
		kfake.ClusterID("sanse-bench"),
		kfake.DefaultNumPartitions(*partitions),
		kfake.SeedTopics(int32(*partitions), brokerTopics()...),
		kfake.BrokerConfigs(map[string]string{
			"log.retention.ms":    "-1",
			"log.retention.bytes": "-1",
			"log.segment.bytes":   strconv.Itoa(*segment),
		}),
		kfake.ListenFn(func(network, _ string) (net.Listener, error) { return net.Listen(network, *listen) }),
	)
	if err != nil {
		return fmt.Errorf("start the broker on %s: %w", *listen, err)
	}
	defer cluster.Close()
	fmt.Fprintln(stdout, strings.Join(cluster.ListenAddrs(), ","))
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
