package store

import (
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// migrationFiles holds the schema, one file per version. A file is named
// NNNN_name.sql and holds one or more statements, each ended by a semicolon
// at the end of a line. ClickHouse has no transactional DDL: a migration that
// fails half-way is run again from its first statement, and two instances may
// run one at the same time, so every statement must be safe to repeat:
// CREATE TABLE IF NOT EXISTS, and ALTER TABLE t ADD COLUMN c Type with one
// column per statement, which the migrator skips when t already has c (18.16
// has no ADD COLUMN IF NOT EXISTS, and loadMigrations refuses it). Applied
// files are never edited; a change is a new file.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

var migrationName = regexp.MustCompile(`^([0-9]{4})_[a-z0-9_]+\.sql$`)

var (
	// addColumn matches a statement that adds one column to one table, once
	// comments are removed: ALTER TABLE [db.]table ADD COLUMN name type
	// [AFTER other], where type may carry DEFAULT and the like.
	addColumn = regexp.MustCompile(`(?is)^ALTER\s+TABLE\s+(?:(\w+)\.)?(\w+)\s+ADD\s+COLUMN\s+(\w+)\s+(.+?)(?:\s+AFTER\s+\w+)?$`)
	// addColumnClause finds every ADD COLUMN clause of a statement.
	addColumnClause = regexp.MustCompile(`(?i)\bADD\s+COLUMN\b`)
	// ifNotExists is the clause 18.16 refuses after ADD COLUMN.
	ifNotExists = regexp.MustCompile(`(?i)\bADD\s+COLUMN\s+IF\s+NOT\s+EXISTS\b`)
	// sqlComment is a comment to the end of the line.
	sqlComment = regexp.MustCompile(`--[^\n]*`)
	// spaces is a run of white space.
	spaces = regexp.MustCompile(`\s+`)
)

// migration is one versioned schema change.
type migration struct {
	version    uint32
	file       string
	statements []string
	checksum   string
}

// Migrate applies, in version order, every embedded migration that the
// database has not recorded in its schema_migrations table, and records each
// after all its statements succeeded. It is safe to call again. A failing
// migration stops Migrate with an error naming its file; the migrations
// before it stay applied.
func (s *Store) Migrate(ctx context.Context) error {
	fsys, err := migrationFS()
	if err != nil {
		return err
	}
	return s.migrate(ctx, fsys)
}

// migrationFS returns the embedded migrations directory.
func migrationFS() (fs.FS, error) {
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		return nil, fmt.Errorf("read embedded migrations: %w", err)
	}
	return sub, nil
}

// Migrated reports whether Migrate has succeeded, for readiness checks.
func (s *Store) Migrated() bool { return s.migrated.Load() }

func (s *Store) migrate(ctx context.Context, fsys fs.FS) error {
	migrations, err := loadMigrations(fsys)
	if err != nil {
		return err
	}
	err = s.conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS `+tableMigrations+`
(
    version    UInt32,
    name       String,
    checksum   String,
    applied_at DateTime
)
ENGINE = ReplacingMergeTree(applied_at)
ORDER BY version`)
	if err != nil {
		return fmt.Errorf("create table %s: %w", tableMigrations, err)
	}
	applied, err := s.appliedMigrations(ctx)
	if err != nil {
		return err
	}
	for _, m := range migrations {
		if prev, ok := applied[m.version]; ok {
			if prev.file != m.file {
				return fmt.Errorf("migration %04d was applied as %s but is now %s", m.version, prev.file, m.file)
			}
			if prev.checksum != m.checksum {
				s.logger.Warn("applied migration file has changed since; the change is not applied", "file", m.file)
			}
			continue
		}
		for i, stmt := range m.statements {
			if err := s.exec(ctx, stmt); err != nil {
				return fmt.Errorf("migration %s, statement %d: %w", m.file, i+1, err)
			}
		}
		if err := s.recordMigration(ctx, m); err != nil {
			return fmt.Errorf("migration %s: %w", m.file, err)
		}
		s.logger.Info("applied migration", "file", m.file)
	}
	s.migrated.Store(true)
	return nil
}

// exec runs one statement of a migration. An ADD COLUMN whose column the
// table already has, with the same type, is skipped: the statement ran
// before (a migration that failed half-way, or whose record this server
// lacks), another instance ran it at the same time, or the operator applied
// the cluster schema first.
func (s *Store) exec(ctx context.Context, stmt string) error {
	add, ok := parseAddColumn(stmt)
	if !ok {
		return s.conn.Exec(ctx, stmt)
	}
	if add.database == "" {
		add.database = s.database
	}
	present, err := s.hasColumn(ctx, add)
	if err != nil {
		return err
	}
	if present {
		s.logger.Info("column already present, ADD COLUMN skipped", "table", add.table, "column", add.column)
		return nil
	}
	err = s.conn.Exec(ctx, stmt)
	if err == nil {
		return nil
	}
	// Another instance may have added the column since the check.
	if present, cerr := s.hasColumn(ctx, add); cerr == nil && present {
		return nil
	}
	return err
}

// columnAddition is an ALTER TABLE ... ADD COLUMN statement, parsed.
type columnAddition struct {
	database string // "" when the table name is not qualified
	table    string
	column   string
	decl     string // the type and what follows it, white space collapsed
}

// parseAddColumn parses stmt if it adds one column to one table.
func parseAddColumn(stmt string) (columnAddition, bool) {
	code := strings.TrimSpace(sqlComment.ReplaceAllString(stmt, ""))
	m := addColumn.FindStringSubmatch(code)
	if m == nil || len(addColumnClause.FindAllStringIndex(code, -1)) != 1 {
		return columnAddition{}, false
	}
	decl := strings.TrimSpace(spaces.ReplaceAllString(m[4], " "))
	return columnAddition{database: m[1], table: m[2], column: m[3], decl: decl}, true
}

// hasColumn reports whether the table of add has its column. A column of
// another type is an error: the migration cannot be completed by skipping it.
func (s *Store) hasColumn(ctx context.Context, add columnAddition) (bool, error) {
	rows, err := s.conn.Query(ctx, `SELECT type FROM system.columns WHERE database = ? AND table = ? AND name = ?`,
		add.database, add.table, add.column)
	if err != nil {
		return false, fmt.Errorf("look up column %s.%s: %w", add.table, add.column, err)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return false, fmt.Errorf("look up column %s.%s: %w", add.table, add.column, err)
		}
		return false, nil
	}
	var typ string
	if err := rows.Scan(&typ); err != nil {
		return false, fmt.Errorf("look up column %s.%s: %w", add.table, add.column, err)
	}
	if add.decl != typ && !strings.HasPrefix(add.decl, typ+" ") {
		return false, fmt.Errorf("column %s.%s exists with type %s, the migration adds %s", add.table, add.column, typ, add.decl)
	}
	return true, nil
}

func (s *Store) appliedMigrations(ctx context.Context) (map[uint32]migration, error) {
	rows, err := s.conn.Query(ctx, `SELECT version, name, checksum FROM `+tableMigrations)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", tableMigrations, err)
	}
	defer rows.Close()
	applied := map[uint32]migration{}
	for rows.Next() {
		var m migration
		if err := rows.Scan(&m.version, &m.file, &m.checksum); err != nil {
			return nil, fmt.Errorf("read %s: %w", tableMigrations, err)
		}
		applied[m.version] = m
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", tableMigrations, err)
	}
	return applied, nil
}

func (s *Store) recordMigration(ctx context.Context, m migration) error {
	b, err := s.conn.PrepareBatch(ctx, `INSERT INTO `+tableMigrations+` (version, name, checksum, applied_at)`)
	if err != nil {
		return fmt.Errorf("record in %s: %w", tableMigrations, err)
	}
	if err := b.Append(m.version, m.file, m.checksum, time.Now().Unix()); err != nil {
		_ = b.Abort()
		return fmt.Errorf("record in %s: %w", tableMigrations, err)
	}
	if err := b.Send(); err != nil {
		return fmt.Errorf("record in %s: %w", tableMigrations, err)
	}
	return nil
}

// loadMigrations reads every migration file of fsys, in version order. Every
// problem is reported at once.
func loadMigrations(fsys fs.FS) ([]migration, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	var (
		out  []migration
		errs []string
		seen = map[uint32]string{}
	)
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || path.Ext(name) != ".sql" {
			continue
		}
		match := migrationName.FindStringSubmatch(name)
		if match == nil {
			errs = append(errs, fmt.Sprintf("%s: name is not NNNN_name.sql (lower case, digits and _)", name))
			continue
		}
		v, _ := strconv.ParseUint(match[1], 10, 32)
		version := uint32(v)
		if version == 0 {
			errs = append(errs, fmt.Sprintf("%s: versions start at 0001", name))
			continue
		}
		if other, dup := seen[version]; dup {
			errs = append(errs, fmt.Sprintf("%s: version %04d is also used by %s", name, version, other))
			continue
		}
		seen[version] = name
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			errs = append(errs, fmt.Sprintf("%s: %v", name, err))
			continue
		}
		stmts := splitStatements(string(data))
		if len(stmts) == 0 {
			errs = append(errs, fmt.Sprintf("%s: no statement", name))
			continue
		}
		for i, stmt := range stmts {
			if err := checkStatement(stmt); err != nil {
				errs = append(errs, fmt.Sprintf("%s: statement %d: %v", name, i+1, err))
			}
		}
		sum := sha256.Sum256(data)
		out = append(out, migration{version: version, file: name, statements: stmts, checksum: hex.EncodeToString(sum[:])})
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("invalid migrations: %s", strings.Join(errs, "; "))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	return out, nil
}

// checkStatement refuses the column additions that the migrator cannot
// make safe to repeat.
func checkStatement(stmt string) error {
	code := sqlComment.ReplaceAllString(stmt, "")
	n := len(addColumnClause.FindAllStringIndex(code, -1))
	switch {
	case n == 0:
		return nil
	case ifNotExists.MatchString(code):
		return errors.New("ClickHouse 18.16 does not accept ADD COLUMN IF NOT EXISTS; write ADD COLUMN, which the migrator skips when the column exists")
	case n > 1:
		return errors.New("add one column per statement, so that a repeated migration can tell which are there")
	}
	if _, ok := parseAddColumn(stmt); !ok {
		return errors.New("write a column addition as ALTER TABLE table ADD COLUMN name type")
	}
	return nil
}

// splitStatements splits a migration file into statements: a line whose text
// ends with ";" ends one. Pieces holding only comments and blank lines are
// dropped, since ClickHouse refuses an empty query.
func splitStatements(src string) []string {
	var (
		out     []string
		cur     strings.Builder
		hasCode bool
	)
	flush := func() {
		if hasCode {
			out = append(out, strings.TrimSpace(cur.String()))
		}
		cur.Reset()
		hasCode = false
	}
	for line := range strings.Lines(src) {
		trimmed := strings.TrimSpace(line)
		if trimmed != "" && !strings.HasPrefix(trimmed, "--") {
			hasCode = true
		}
		if strings.HasSuffix(trimmed, ";") && !strings.HasPrefix(trimmed, "--") {
			cur.WriteString(strings.TrimSuffix(strings.TrimRight(line, " \t\r\n"), ";"))
			flush()
			continue
		}
		cur.WriteString(line)
	}
	flush()
	return out
}
