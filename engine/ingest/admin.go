package ingest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"
)

// Ready reports whether a broker answers, the dead-letter topic exists and
// at least one event topic does. It is meant for a readiness probe. A
// missing event topic alone does not make the instance unready: its source
// is not read until it appears (sanse_ingest_topic_missing says which), and
// the others are.
//
// Reachability is checked with a round trip on a new connection. kafka-go
// answers metadata requests from a cache that its transport refreshes every
// few seconds, so a topic created or deleted a moment ago may not show yet.
func (c *Consumer) Ready(ctx context.Context) error {
	if err := ping(ctx, c.opts.Brokers, c.dialer); err != nil {
		return err
	}
	md, err := c.client.Metadata(ctx, &kafka.MetadataRequest{Topics: c.Topics()})
	if err != nil {
		return fmt.Errorf("kafka metadata from %s: %w", strings.Join(c.opts.Brokers, ","), explain(err))
	}
	var missing []string
	for _, t := range md.Topics {
		if t.Error != nil {
			missing = append(missing, t.Name)
		}
	}
	switch {
	case slices.Contains(missing, c.opts.DeadLetterTopic):
		return fmt.Errorf("kafka topics missing: %s", strings.Join(missing, ", "))
	case len(missing) >= len(c.topics):
		return fmt.Errorf("kafka topics missing: every event topic (%s)", strings.Join(missing, ", "))
	}
	return nil
}

// EnsureTopics creates those of topics that do not exist yet, each with the
// given number of partitions and the broker's default replication factor.
// Existing topics are left as they are. sec is how to reach the brokers, as
// in Options.Security.
func EnsureTopics(ctx context.Context, brokers []string, sec Security, topics []string, partitions int) error {
	if partitions < 1 {
		partitions = 1
	}
	// kafka-go's transport reports a refused TLS or SASL handshake as an
	// unavailable broker; a connection of one's own says what happened.
	if err := ping(ctx, brokers, sec.dialer()); err != nil {
		return err
	}
	transport := sec.transport()
	defer transport.CloseIdleConnections()
	client := &kafka.Client{Addr: kafka.TCP(brokers...), Timeout: 10 * time.Second, Transport: transport}
	req := &kafka.CreateTopicsRequest{}
	for _, t := range topics {
		req.Topics = append(req.Topics, kafka.TopicConfig{Topic: t, NumPartitions: partitions, ReplicationFactor: -1})
	}
	resp, err := client.CreateTopics(ctx, req)
	if err != nil {
		return fmt.Errorf("create topics on %s: %w", strings.Join(brokers, ","), explain(err))
	}
	var errs []error
	for _, t := range topics {
		if err := resp.Errors[t]; err != nil && !errors.Is(err, kafka.TopicAlreadyExists) {
			errs = append(errs, fmt.Errorf("create topic %q: %w", t, err))
		}
	}
	return errors.Join(errs...)
}

// ping opens a connection to the first broker that accepts one, with TLS
// and SASL as the dialer says, and asks it for its API versions.
func ping(ctx context.Context, brokers []string, dialer *kafka.Dialer) error {
	var errs []error
	for _, b := range brokers {
		conn, err := dialer.DialContext(ctx, "tcp", b)
		if err != nil {
			if aerr := authError(err); aerr != nil {
				return fmt.Errorf("%s: %w", b, aerr)
			}
			errs = append(errs, err)
			continue
		}
		deadline, ok := ctx.Deadline()
		if !ok {
			deadline = time.Now().Add(dialer.Timeout)
		}
		_ = conn.SetDeadline(deadline)
		_, err = conn.ApiVersions()
		conn.Close()
		if err == nil {
			return nil
		}
		errs = append(errs, fmt.Errorf("%s: %w", b, err))
	}
	return fmt.Errorf("no Kafka broker reachable: %w", errors.Join(errs...))
}
