package reporting

import (
	"context"
	"time"

	"github.com/shopmonolith/shop/modules/reporting/internal/domain"
)

// api adapts the domain service to the public contract.
type api struct{ svc *domain.Service }

var _ API = (*api)(nil)

func (a *api) Sales(ctx context.Context, q SalesQuery) (SalesReport, error) {
	r, err := a.svc.Sales(ctx, domain.SalesQuery{From: q.From, To: q.To, Currency: q.Currency})
	if err != nil {
		return SalesReport{}, err
	}
	return toSalesReportDTO(r), nil
}

func (a *api) TopProducts(ctx context.Context, q TopQuery) ([]ProductSales, error) {
	rows, err := a.svc.TopProducts(ctx, domain.TopQuery{Limit: q.Limit, Currency: q.Currency})
	if err != nil {
		return nil, err
	}
	out := make([]ProductSales, len(rows))
	for i, p := range rows {
		out[i] = toProductSalesDTO(p)
	}
	return out, nil
}

func (a *api) Rebuild(ctx context.Context) (RebuildResult, error) {
	n, err := a.svc.Rebuild(ctx)
	if err != nil {
		return RebuildResult{}, err
	}
	return RebuildResult{Events: n}, nil
}

func toSalesReportDTO(r domain.SalesReport) SalesReport {
	out := SalesReport{
		From: r.From.Format(time.DateOnly), To: r.To.Format(time.DateOnly), Currency: r.Currency,
		Days: make([]DaySales, len(r.Days)), Totals: make([]SalesTotal, len(r.Totals)),
	}
	for i, d := range r.Days {
		out.Days[i] = DaySales{Day: d.Day.Format(time.DateOnly), Orders: d.Orders, Units: d.Units,
			Revenue: Money{Amount: d.Revenue, Currency: d.Currency}}
	}
	for i, t := range r.Totals {
		out.Totals[i] = SalesTotal{Orders: t.Orders, Units: t.Units, Revenue: Money{Amount: t.Revenue, Currency: t.Currency}}
	}
	return out
}

func toProductSalesDTO(p domain.ProductRow) ProductSales {
	return ProductSales{ProductID: p.ProductID, SKU: p.SKU, Name: p.Name, Orders: p.Orders, Units: p.Units,
		Revenue: Money{Amount: p.Revenue, Currency: p.Currency}}
}
