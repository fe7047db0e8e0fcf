package rowcodec_test

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgfast/pgfast/rowcodec"
)

// Example streams a query's rows as a JSON array: describe the statement,
// load the types it returns, request binary results where the codec can
// decode them, then append each row's raw values. types is kept per
// database and reused across queries.
func Example() {
	ctx := context.Background()
	conn, err := pgconn.Connect(ctx, "postgres://localhost/app")
	if err != nil {
		return
	}
	defer conn.Close(ctx)
	types := rowcodec.NewTypes()

	const query = "SELECT customer_id, email, created_at FROM customer LIMIT 10"
	sd, err := conn.Prepare(ctx, "", query, nil)
	if err != nil {
		return
	}
	oids := make([]uint32, len(sd.Fields))
	for i, f := range sd.Fields {
		oids[i] = f.DataTypeOID
	}
	if err := types.Load(ctx, conn, oids...); err != nil {
		return
	}
	loc, _ := time.LoadLocation(conn.ParameterStatus("TimeZone"))
	rr := conn.ExecParams(ctx, query, nil, nil, nil, types.Formats(nil, oids))
	plan, err := rowcodec.NewPlan(rr.FieldDescriptions(), rowcodec.Options{
		Location:      loc,
		IntervalStyle: conn.ParameterStatus("IntervalStyle"),
		Types:         types,
	})
	if err != nil {
		rr.Close()
		return
	}
	body := []byte(`{"columns":`)
	body = plan.AppendColumns(body)
	body = append(body, `,"rows":[`...)
	for n := 0; rr.NextRow(); n++ {
		if n > 0 {
			body = append(body, ',')
		}
		mark := len(body)
		if body, err = plan.AppendObject(body, rr.Values()); err != nil {
			body = body[:mark] // drop the partial row
			break
		}
	}
	body = append(body, "]}"...)
	if _, err := rr.Close(); err != nil {
		return
	}
	_ = body
}
