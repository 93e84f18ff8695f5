package sandbox

import (
	"net/http"
	"regexp"
)

// product is a Stripe Product.
type product struct {
	ID                  string            `json:"id"`
	Object              string            `json:"object"`
	Active              bool              `json:"active"`
	Created             int64             `json:"created"`
	DefaultPrice        *string           `json:"default_price"`
	Description         *string           `json:"description"`
	Images              []string          `json:"images"`
	Livemode            bool              `json:"livemode"`
	MarketingFeatures   []any             `json:"marketing_features"`
	Metadata            map[string]string `json:"metadata"`
	Name                string            `json:"name"`
	PackageDimensions   *struct{}         `json:"package_dimensions"`
	Shippable           *bool             `json:"shippable"`
	StatementDescriptor *string           `json:"statement_descriptor"`
	TaxCode             *string           `json:"tax_code"`
	UnitLabel           *string           `json:"unit_label"`
	Updated             int64             `json:"updated"`
	URL                 *string           `json:"url"`
}

func (p *product) objectID() string { return p.ID }

var (
	productCreateSpec = endpoint(map[string]*spec{
		"name":        str().req(),
		"id":          str(),
		"description": str(),
		"active":      boolean(),
		"metadata":    metadataSpec(),
	})
	productListSpec = listEndpoint(map[string]*spec{"active": boolean(), "ids": arr(str())})
)

var productIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,100}$`)

// newProduct creates and stores a product.
func (t *tx) newProduct(id, name string) *product {
	if id == "" {
		id = t.newID("prod")
	}
	p := &product{
		ID: id, Object: "product", Active: true, Created: t.unix(), Images: []string{},
		MarketingFeatures: []any{}, Metadata: map[string]string{}, Name: name, Updated: t.unix(),
	}
	t.a.Products.add(p)
	return p
}

// createProduct is POST /v1/products; id may be chosen, as at Stripe.
func createProduct(t *tx, r *request) (any, *apiError) {
	id := r.p.str("id")
	if id != "" {
		if !productIDPattern.MatchString(id) {
			return nil, invalid("id", "Invalid product id: use letters, digits, _ and - only.")
		}
		if _, exists := t.a.Products.get(id); exists {
			return nil, invalidCode("resource_already_exists", "id", "Product already exists.")
		}
	}
	p := t.newProduct(id, r.p.str("name"))
	p.Description = strOrNil(r.p.str("description"))
	if r.p.has("active") {
		p.Active = r.p.bool("active")
	}
	p.Metadata = r.p.applyMetadata(nil, "metadata")
	t.emit("product.created", p, nil)
	return p, nil
}

// getProduct is GET /v1/products/{id}.
func getProduct(t *tx, r *request) (any, *apiError) {
	p, ok := t.a.Products.get(r.id)
	if !ok {
		return nil, notFound("product", r.id)
	}
	return p, nil
}

// listProducts is GET /v1/products.
func listProducts(t *tx, r *request) (any, *apiError) {
	ids := r.p.strs("ids")
	ps := t.a.Products.newestFirst(func(p *product) bool {
		if r.p.has("active") && p.Active != r.p.bool("active") {
			return false
		}
		if len(ids) == 0 {
			return true
		}
		for _, id := range ids {
			if id == p.ID {
				return true
			}
		}
		return false
	})
	return paginate(ps, r.p, "/v1/products", "product")
}

func productRoutes() []route {
	return []route{
		{method: http.MethodPost, path: "/v1/products", spec: productCreateSpec, kind: "product", h: createProduct},
		{method: http.MethodGet, path: "/v1/products", spec: productListSpec, kind: "product", list: true, h: listProducts},
		{method: http.MethodGet, path: "/v1/products/{id}", spec: endpoint(nil), kind: "product", h: getProduct},
	}
}
