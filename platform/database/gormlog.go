package database

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// queryLog reports failed and slow queries to slog. Unlike gorm's own
// loggers it renders the SQL only when a line is written, so the hot path
// pays nothing for it.
type queryLog struct {
	log  *slog.Logger
	slow time.Duration
}

var _ logger.Interface = queryLog{}

func (q queryLog) LogMode(logger.LogLevel) logger.Interface { return q }

func (q queryLog) Info(ctx context.Context, msg string, args ...any) {
	q.log.InfoContext(ctx, msg, slog.Any("args", args))
}

func (q queryLog) Warn(ctx context.Context, msg string, args ...any) {
	q.log.WarnContext(ctx, msg, slog.Any("args", args))
}

func (q queryLog) Error(ctx context.Context, msg string, args ...any) {
	q.log.ErrorContext(ctx, msg, slog.Any("args", args))
}

func (q queryLog) Trace(ctx context.Context, begin time.Time, fc func() (string, int64), err error) {
	elapsed := time.Since(begin)
	switch {
	case err != nil && !errors.Is(err, gorm.ErrRecordNotFound) && !errors.Is(err, context.Canceled):
		sql, _ := fc() // parameterized: values stay out of the logs
		q.log.WarnContext(ctx, "query failed", slog.String("sql", sql), slog.Duration("elapsed", elapsed), slog.String("error", err.Error()))
	case elapsed > q.slow:
		sql, rows := fc()
		q.log.WarnContext(ctx, "slow query", slog.String("sql", sql), slog.Duration("elapsed", elapsed), slog.Int64("rows", rows))
	}
}

// ParamsFilter keeps bound values out of the SQL gorm renders for logs.
func (queryLog) ParamsFilter(_ context.Context, sql string, _ ...any) (string, []any) {
	return sql, nil
}
