package reportingmodule

import (
	"context"
	"time"

	"github.com/shopmonolith/shop/modules/reporting"
	"github.com/shopmonolith/shop/modules/reporting/internal/domain"
)

// api adapts the domain service to the public contract.
type api struct{ svc *domain.Service }

var _ reporting.API = (*api)(nil)

func (a *api) Sales(ctx context.Context, q reporting.SalesQuery) (reporting.SalesReport, error) {
	r, err := a.svc.Sales(ctx, domain.SalesQuery{From: q.From, To: q.To, Currency: q.Currency})
	if err != nil {
		return reporting.SalesReport{}, err
	}
	return toSalesReportDTO(r), nil
}

func (a *api) TopProducts(ctx context.Context, q reporting.TopQuery) ([]reporting.ProductSales, error) {
	rows, err := a.svc.TopProducts(ctx, domain.TopQuery{Limit: q.Limit, Currency: q.Currency})
	if err != nil {
		return nil, err
	}
	out := make([]reporting.ProductSales, len(rows))
	for i, p := range rows {
		out[i] = toProductSalesDTO(p)
	}
	return out, nil
}

func (a *api) Rebuild(ctx context.Context) (reporting.RebuildResult, error) {
	n, err := a.svc.Rebuild(ctx)
	if err != nil {
		return reporting.RebuildResult{}, err
	}
	return reporting.RebuildResult{Events: n}, nil
}

func toSalesReportDTO(r domain.SalesReport) reporting.SalesReport {
	out := reporting.SalesReport{
		From: r.From.Format(time.DateOnly), To: r.To.Format(time.DateOnly), Currency: r.Currency,
		Days: make([]reporting.DaySales, len(r.Days)), Totals: make([]reporting.SalesTotal, len(r.Totals)),
	}
	for i, d := range r.Days {
		out.Days[i] = reporting.DaySales{Day: d.Day.Format(time.DateOnly), Orders: d.Orders, Units: d.Units,
			Revenue: reporting.Money{Amount: d.Revenue, Currency: d.Currency}}
	}
	for i, t := range r.Totals {
		out.Totals[i] = reporting.SalesTotal{Orders: t.Orders, Units: t.Units, Revenue: reporting.Money{Amount: t.Revenue, Currency: t.Currency}}
	}
	return out
}

func toProductSalesDTO(p domain.ProductRow) reporting.ProductSales {
	return reporting.ProductSales{ProductID: p.ProductID, SKU: p.SKU, Name: p.Name, Orders: p.Orders, Units: p.Units,
		Revenue: reporting.Money{Amount: p.Revenue, Currency: p.Currency}}
}
