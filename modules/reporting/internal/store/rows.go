package store

import (
	"time"

	"github.com/shopmonolith/shop/modules/reporting/internal/domain"
)

type journalRow struct {
	EventID    string    `gorm:"column:event_id"`
	Type       string    `gorm:"column:type"`
	OrderID    string    `gorm:"column:order_id"`
	OccurredAt time.Time `gorm:"column:occurred_at"`
	Payload    string    `gorm:"column:payload"` // jsonb as text
	Seq        int64     `gorm:"column:seq"`
}

type dayRow struct {
	Day          time.Time
	Currency     string
	Orders       int64
	Units        int64
	RevenueMinor int64
}

type productRow struct {
	ProductID    string
	Currency     string
	SKU          string
	Name         string
	NameSeq      int64
	Orders       int64
	Units        int64
	RevenueMinor int64
}

func toJournalRow(r domain.Record) journalRow {
	return journalRow{EventID: r.EventID, Type: r.Type, OrderID: r.OrderID, OccurredAt: r.OccurredAt.UTC(),
		Payload: string(r.Payload), Seq: r.Seq}
}

func toRecord(r journalRow) domain.Record {
	return domain.Record{EventID: r.EventID, Type: r.Type, OrderID: r.OrderID, OccurredAt: r.OccurredAt.UTC(),
		Payload: []byte(r.Payload), Seq: r.Seq}
}

func toDayRow(d domain.DayRow) dayRow {
	return dayRow{Day: d.Day, Currency: d.Currency, Orders: d.Orders, Units: d.Units, RevenueMinor: d.Revenue}
}

func toDomainDay(r dayRow) domain.DayRow {
	return domain.DayRow{Day: r.Day.UTC(), Currency: r.Currency, Orders: r.Orders, Units: r.Units, Revenue: r.RevenueMinor}
}

func toProductRow(p domain.ProductRow) productRow {
	return productRow{ProductID: p.ProductID, Currency: p.Currency, SKU: p.SKU, Name: p.Name, NameSeq: p.NameSeq,
		Orders: p.Orders, Units: p.Units, RevenueMinor: p.Revenue}
}

func toDomainProduct(r productRow) domain.ProductRow {
	return domain.ProductRow{ProductID: r.ProductID, Currency: r.Currency, SKU: r.SKU, Name: r.Name, NameSeq: r.NameSeq,
		Orders: r.Orders, Units: r.Units, Revenue: r.RevenueMinor}
}
