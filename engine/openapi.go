package engine

import (
	"github.com/valyala/fasthttp"

	"github.com/pgfast/pgfast/openapi"
	"github.com/pgfast/pgfast/sqlexec"
)

// OpenAPI returns the OpenAPI 3.1 document of the running route table
// (DESIGN §11): built from the compiled routes, so parameter and column
// types are those PostgreSQL described when the statements were prepared.
func (e *Engine) OpenAPI() ([]byte, error) { return e.state.Load().openAPI() }

func (st *state) openAPI() ([]byte, error) {
	info := openapi.Info{Title: "pgfast", Version: "1", RawQueryAPI: len(st.accounts) > 0, JWT: st.jwt != nil}
	routes := make([]openapi.Route, 0, len(st.routes))
	for _, rt := range st.routes {
		routes = append(routes, describeRoute(rt))
	}
	return openapi.Build(info, routes)
}

// describeRoute is a compiled route as the document needs it.
func describeRoute(rt *route) openapi.Route {
	rc := &rt.cfg
	or := openapi.Route{
		Name: rc.Name, Host: rc.Host, Methods: rc.Methods, Path: rc.Path, Backend: rc.Backend(),
		Auth: rc.Auth, Result: rc.Result, Cached: rt.ttl > 0, RateLimited: rt.limit != nil,
	}
	for i, p := range rc.Params {
		op := openapi.Param{Name: p.Name, Source: p.Source, Type: "text", Required: p.Required, Default: p.Default, Max: p.Max}
		if rt.stmt != nil {
			op.Type = sqlexec.TypeName(rt.stmt.ParamOIDs()[i])
		}
		or.Params = append(or.Params, op)
	}
	if rt.stmt != nil {
		for _, c := range rt.stmt.Columns() {
			or.Columns = append(or.Columns, openapi.Column{Name: c.Name, Type: c.Type, Nullable: true})
		}
	}
	if m := rc.Mock; m != nil {
		or.MockStatus = m.Status
		for k, v := range m.Headers {
			if canonicalHeader(k) == fasthttp.HeaderContentType {
				or.MockContentType = v
			}
		}
	}
	return or
}

// addOpenAPI serves the document on the public listener at openapi.path,
// built once per config load.
func (st *state) addOpenAPI(e *Engine) error {
	o := st.cfg.OpenAPI
	if !o.Enabled {
		return nil
	}
	doc, err := st.openAPI()
	if err != nil {
		return err
	}
	serve := handlerFunc(func(r *request) error {
		r.ctx.SetContentTypeBytes(contentTypeJSON)
		r.ctx.Response.SetBodyRaw(doc)
		return nil
	})
	ep := &endpoint{name: o.Path, backend: serve, metrics: e.metrics.endpoint(o.Path)}
	_, err = st.router.add("", []string{"GET"}, o.Path, ep)
	return err
}
