package catalog

import (
	"context"
	"time"
)

// Deal kinds.
const (
	DealPercent = "percent" // Value is the percentage off, 1..99
	DealFixed   = "fixed"   // Value is the amount off in minor units of Currency
)

// MaxProductIDs is the most ids one Products call takes.
const MaxProductIDs = 100

// API is the catalog as other modules and remote adapters see it. Write
// methods need the admin role in ctx: without a principal they return
// KindUnauthenticated, for any other role KindForbidden. Inactive products
// and categories (and products in an inactive category) do not exist for
// non-admins. Any method may also return KindInternal.
type API interface {
	// ListProducts returns one page in creation order. KindInvalid names
	// limit (outside 1..100; 0 means 20), after (not a cursor from this API),
	// category (not a UUID) or q (longer than 200 characters).
	// IncludeInactive is honoured for admins only.
	//shop:idempotent
	ListProducts(ctx context.Context, q ProductQuery) (ProductPage, error)
	// Product returns KindNotFound for an unknown, malformed or hidden id.
	//shop:idempotent
	Product(ctx context.Context, id string) (Product, error)
	// Products returns the products among ids that Product would return,
	// in the order of ids and each once: unknown, malformed and hidden ids
	// are simply absent. KindInvalid names ids when there are none or more
	// than MaxProductIDs.
	//shop:idempotent
	Products(ctx context.Context, ids []string) ([]Product, error)
	// ProductBySKU matches the SKU case-insensitively; KindNotFound.
	//shop:idempotent
	ProductBySKU(ctx context.Context, sku string) (Product, error)
	// CreateProduct returns KindInvalid naming the fields (an unknown
	// category is category_id) and KindConflict (field sku) for a taken SKU.
	CreateProduct(ctx context.Context, in NewProduct) (Product, error)
	// UpdateProduct changes the non-nil fields; KindNotFound, KindInvalid.
	UpdateProduct(ctx context.Context, id string, in ProductUpdate) (Product, error)
	// DeactivateProduct hides the product from customers; KindNotFound.
	DeactivateProduct(ctx context.Context, id string) error
	// Categories lists categories in creation order; includeInactive is
	// honoured for admins only. It fails only with KindInternal.
	//shop:idempotent
	Categories(ctx context.Context, includeInactive bool) ([]Category, error)
	// CreateCategory returns KindInvalid and KindConflict (field slug).
	CreateCategory(ctx context.Context, in NewCategory) (Category, error)
	// UpdateCategory returns KindNotFound, KindInvalid and KindConflict (slug).
	UpdateCategory(ctx context.Context, id string, in CategoryUpdate) (Category, error)
	// DeactivateCategory hides the category and its products; KindNotFound.
	DeactivateCategory(ctx context.Context, id string) error
	// Deals lists deals in creation order. Admins get the active ones (past
	// and future included), or all of them with includeInactive; everyone
	// else gets only the active deals running now (StartsAt ≤ now < EndsAt)
	// whose product or category they can see. It fails only with
	// KindInternal.
	//shop:idempotent
	Deals(ctx context.Context, includeInactive bool) ([]Deal, error)
	// CreateDeal returns KindInvalid naming the fields; an unknown target is
	// product_id or category_id.
	CreateDeal(ctx context.Context, in NewDeal) (Deal, error)
	// UpdateDeal changes the non-nil fields; KindNotFound, KindInvalid.
	UpdateDeal(ctx context.Context, id string, in DealUpdate) (Deal, error)
	// DeactivateDeal stops the deal from applying; KindNotFound.
	DeactivateDeal(ctx context.Context, id string) error
}

// ProductQuery selects a page of products.
type ProductQuery struct {
	CategoryID      string `json:"category_id,omitempty"`
	Search          string `json:"q,omitempty"`     // words that must all prefix-match name, description or SKU
	After           string `json:"after,omitempty"` // NextCursor of the previous page
	Limit           int    `json:"limit,omitempty"` // 1..100; 0 means 20
	IncludeInactive bool   `json:"include_inactive,omitempty"`
}

// ProductPage is one page; NextCursor is empty on the last page.
type ProductPage struct {
	Items      []Product `json:"items"`
	NextCursor string    `json:"next_cursor"` // empty on the last page
}

// Money is an amount in minor units (cents) of a currency.
type Money struct {
	Amount   int64  `json:"amount"`
	Currency string `json:"currency"`
}

// Product is a product with the price a customer pays now: EffectivePrice
// is the lowest price among the deals that apply, and Deal names that deal
// (nil when the list price applies).
type Product struct {
	ID             string       `json:"id"`
	SKU            string       `json:"sku"`
	Name           string       `json:"name"`
	Description    string       `json:"description"`
	CategoryID     string       `json:"category_id,omitempty"`
	Price          Money        `json:"price"`
	EffectivePrice Money        `json:"effective_price"`
	Deal           *AppliedDeal `json:"deal"`
	Active         bool         `json:"active"`
	CreatedAt      time.Time    `json:"created_at"`
	UpdatedAt      time.Time    `json:"updated_at"`
}

// AppliedDeal is the deal behind an effective price.
type AppliedDeal struct {
	ID     string    `json:"id"`
	Name   string    `json:"name"`
	EndsAt time.Time `json:"ends_at"`
}

// NewProduct is the input of CreateProduct. SKU: 1..64 of [A-Za-z0-9._-],
// stored upper-cased; Name 1..200 characters; Description up to 5000;
// PriceMinor 0..10_000_000_000; Currency three upper-case letters;
// CategoryID optional.
type NewProduct struct {
	SKU         string `json:"sku"`
	Name        string `json:"name"`
	Description string `json:"description"`
	CategoryID  string `json:"category_id,omitempty"`
	Currency    string `json:"currency"`
	PriceMinor  int64  `json:"price_minor"`
}

// ProductUpdate changes the non-nil fields; an empty CategoryID removes the
// product from its category.
type ProductUpdate struct {
	Name        *string `json:"name,omitempty"`
	Description *string `json:"description,omitempty"`
	CategoryID  *string `json:"category_id,omitempty"`
	Currency    *string `json:"currency,omitempty"`
	PriceMinor  *int64  `json:"price_minor,omitempty"`
	Active      *bool   `json:"active,omitempty"`
}

// Category groups products.
type Category struct {
	ID        string    `json:"id"`
	Slug      string    `json:"slug"`
	Name      string    `json:"name"`
	Active    bool      `json:"active"`
	CreatedAt time.Time `json:"created_at"`
}

// NewCategory is the input of CreateCategory: Slug 1..64 of [a-z0-9-],
// unique; Name 1..100 characters.
type NewCategory struct {
	Slug string `json:"slug"`
	Name string `json:"name"`
}

// CategoryUpdate changes the non-nil fields.
type CategoryUpdate struct {
	Slug   *string `json:"slug,omitempty"`
	Name   *string `json:"name,omitempty"`
	Active *bool   `json:"active,omitempty"`
}

// Deal lowers the price of one product (ProductID) or of every product of a
// category (CategoryID) while StartsAt ≤ now < EndsAt.
type Deal struct {
	ID         string    `json:"id"`
	Name       string    `json:"name"`
	Kind       string    `json:"kind"`
	Value      int64     `json:"value"`
	Currency   string    `json:"currency,omitempty"`
	ProductID  string    `json:"product_id,omitempty"`
	CategoryID string    `json:"category_id,omitempty"`
	StartsAt   time.Time `json:"starts_at"`
	EndsAt     time.Time `json:"ends_at"`
	Active     bool      `json:"active"`
}

// NewDeal is the input of CreateDeal. Kind DealPercent takes Value 1..99 and
// no Currency; DealFixed takes Value ≥ 1 in minor units and a Currency (it
// applies only to products priced in that currency). Exactly one of
// ProductID and CategoryID; StartsAt before EndsAt.
type NewDeal struct {
	Name       string    `json:"name"`
	Kind       string    `json:"kind"`
	Value      int64     `json:"value"`
	Currency   string    `json:"currency,omitempty"`
	ProductID  string    `json:"product_id,omitempty"`
	CategoryID string    `json:"category_id,omitempty"`
	StartsAt   time.Time `json:"starts_at"`
	EndsAt     time.Time `json:"ends_at"`
}

// DealUpdate changes the non-nil fields; kind, currency and target are
// fixed once a deal exists.
type DealUpdate struct {
	Name     *string    `json:"name,omitempty"`
	Value    *int64     `json:"value,omitempty"`
	StartsAt *time.Time `json:"starts_at,omitempty"`
	EndsAt   *time.Time `json:"ends_at,omitempty"`
	Active   *bool      `json:"active,omitempty"`
}

// Events the catalog publishes (see platform/events). Each is published in
// the transaction of the change it reports; the key is the product id for
// product events and the deal id for deal events.

// ProductCreated reports a new product.
type ProductCreated struct {
	ProductID  string    `json:"product_id"`
	SKU        string    `json:"sku"`
	Name       string    `json:"name"`
	CategoryID string    `json:"category_id"` // empty without a category
	PriceMinor int64     `json:"price_minor"`
	Currency   string    `json:"currency"`
	Active     bool      `json:"active"`
	At         time.Time `json:"at"`
}

// EventType implements events.Event.
func (ProductCreated) EventType() string { return "catalog.product_created.v1" }

// EventKey implements events.Event.
func (e ProductCreated) EventKey() string { return e.ProductID }

// ProductUpdated reports any change of a product, deactivation included; a
// price change is also reported as ProductPriceChanged.
type ProductUpdated struct {
	ProductID  string    `json:"product_id"`
	SKU        string    `json:"sku"`
	Name       string    `json:"name"`
	CategoryID string    `json:"category_id"`
	Active     bool      `json:"active"`
	At         time.Time `json:"at"`
}

// EventType implements events.Event.
func (ProductUpdated) EventType() string { return "catalog.product_updated.v1" }

// EventKey implements events.Event.
func (e ProductUpdated) EventKey() string { return e.ProductID }

// ProductPriceChanged reports a new list price or currency.
type ProductPriceChanged struct {
	ProductID     string    `json:"product_id"`
	OldPriceMinor int64     `json:"old_price_minor"`
	NewPriceMinor int64     `json:"new_price_minor"`
	Currency      string    `json:"currency"` // the new price's
	At            time.Time `json:"at"`
}

// EventType implements events.Event.
func (ProductPriceChanged) EventType() string { return "catalog.product_price_changed.v1" }

// EventKey implements events.Event.
func (e ProductPriceChanged) EventKey() string { return e.ProductID }

// DealStarted reports that a deal began to apply. It is published once per
// deal, shortly after StartsAt; a deal deactivated before its start, or whose
// whole window passed unannounced, never starts.
type DealStarted struct {
	DealID     string    `json:"deal_id"`
	Name       string    `json:"name"`
	Kind       string    `json:"kind"`
	Value      int64     `json:"value"`
	Currency   string    `json:"currency"`
	ProductID  string    `json:"product_id"`
	CategoryID string    `json:"category_id"`
	StartsAt   time.Time `json:"starts_at"`
	EndsAt     time.Time `json:"ends_at"`
}

// EventType implements events.Event.
func (DealStarted) EventType() string { return "catalog.deal_started.v1" }

// EventKey implements events.Event.
func (e DealStarted) EventKey() string { return e.DealID }

// DealEnded reports that a started deal stopped applying, at its end time or
// when it was deactivated. It follows the deal's DealStarted, once.
type DealEnded struct {
	DealID     string    `json:"deal_id"`
	ProductID  string    `json:"product_id"`
	CategoryID string    `json:"category_id"`
	EndedAt    time.Time `json:"ended_at"`
}

// EventType implements events.Event.
func (DealEnded) EventType() string { return "catalog.deal_ended.v1" }

// EventKey implements events.Event.
func (e DealEnded) EventKey() string { return e.DealID }
