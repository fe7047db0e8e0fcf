package sqlclass

import "strings"

// jsonFields is the scalars of the statement object, for commandName.
type jsonFields struct {
	msg  string
	kv   []jsonKV
	into bool // SelectStmt.into_clause is set
}

type jsonKV struct{ key, raw string }

func (f *jsonFields) get(field string) (string, bool) {
	key := schema.jsonName(f.msg, field)
	for _, kv := range f.kv {
		if kv.key == key {
			return kv.raw, true
		}
	}
	return "", false
}

func (f *jsonFields) enum(field string) string {
	raw, _ := f.get(field)
	return strings.Trim(raw, `"`)
}

func (f *jsonFields) flag(field string) bool {
	raw, _ := f.get(field)
	return raw == "true"
}

// stmtFields reads the scalars of a statement node by their pg_query.proto
// names; commandName uses it, so that the walker and the oracle of
// walk_ref_test.go name commands with the same code.
type stmtFields interface {
	// enum returns the name of an enum field's value; "" when unset.
	enum(field string) string
	// flag returns a bool field.
	flag(field string) bool
}

// stmtKind is what a statement node type performs and how PostgreSQL names it.
type stmtKind struct {
	op  Op     // 0: the node adds nothing by itself (EXPLAIN, RETURN)
	tag string // the command, for messages; variants are in commandName
}

// stmtKinds covers every pg_query message named …Stmt except those in
// visitedStmts, which buildSchema and the walker handle themselves.
// TestEveryStatementTypeIsListed keeps it complete.
var stmtKinds = map[string]stmtKind{
	// Reads.
	"VariableShowStmt": {OpSelect, "SHOW"},
	"SetOperationStmt": {OpSelect, "SELECT"}, // only in analyzed trees
	// Wrappers: the statement or expression inside says what they do.
	"ExplainStmt": {0, "EXPLAIN"},
	"ReturnStmt":  {0, "RETURN"}, // the RETURN of a SQL-standard function body

	// Schema and privileges.
	"CreateSchemaStmt":             {OpDDL, "CREATE SCHEMA"},
	"AlterTableStmt":               {OpDDL, "ALTER TABLE"},
	"ReplicaIdentityStmt":          {OpDDL, "ALTER TABLE"},
	"AlterCollationStmt":           {OpDDL, "ALTER COLLATION"},
	"AlterDomainStmt":              {OpDDL, "ALTER DOMAIN"},
	"GrantStmt":                    {OpDDL, "GRANT"},
	"GrantRoleStmt":                {OpDDL, "GRANT ROLE"},
	"AlterDefaultPrivilegesStmt":   {OpDDL, "ALTER DEFAULT PRIVILEGES"},
	"CreateStmt":                   {OpDDL, "CREATE TABLE"},
	"CreateTableSpaceStmt":         {OpDDL, "CREATE TABLESPACE"},
	"DropTableSpaceStmt":           {OpDDL, "DROP TABLESPACE"},
	"AlterTableSpaceOptionsStmt":   {OpDDL, "ALTER TABLESPACE"},
	"AlterTableMoveAllStmt":        {OpDDL, "ALTER TABLE"},
	"CreateExtensionStmt":          {OpDDL, "CREATE EXTENSION"},
	"AlterExtensionStmt":           {OpDDL, "ALTER EXTENSION"},
	"AlterExtensionContentsStmt":   {OpDDL, "ALTER EXTENSION"},
	"CreateFdwStmt":                {OpDDL, "CREATE FOREIGN DATA WRAPPER"},
	"AlterFdwStmt":                 {OpDDL, "ALTER FOREIGN DATA WRAPPER"},
	"CreateForeignServerStmt":      {OpDDL, "CREATE SERVER"},
	"AlterForeignServerStmt":       {OpDDL, "ALTER SERVER"},
	"CreateForeignTableStmt":       {OpDDL, "CREATE FOREIGN TABLE"},
	"CreateUserMappingStmt":        {OpDDL, "CREATE USER MAPPING"},
	"AlterUserMappingStmt":         {OpDDL, "ALTER USER MAPPING"},
	"DropUserMappingStmt":          {OpDDL, "DROP USER MAPPING"},
	"ImportForeignSchemaStmt":      {OpDDL, "IMPORT FOREIGN SCHEMA"},
	"CreatePolicyStmt":             {OpDDL, "CREATE POLICY"},
	"AlterPolicyStmt":              {OpDDL, "ALTER POLICY"},
	"CreateAmStmt":                 {OpDDL, "CREATE ACCESS METHOD"},
	"CreateTrigStmt":               {OpDDL, "CREATE TRIGGER"},
	"CreateEventTrigStmt":          {OpDDL, "CREATE EVENT TRIGGER"},
	"AlterEventTrigStmt":           {OpDDL, "ALTER EVENT TRIGGER"},
	"CreatePLangStmt":              {OpDDL, "CREATE LANGUAGE"},
	"CreateRoleStmt":               {OpDDL, "CREATE ROLE"},
	"AlterRoleStmt":                {OpDDL, "ALTER ROLE"},
	"DropRoleStmt":                 {OpDDL, "DROP ROLE"},
	"CreateSeqStmt":                {OpDDL, "CREATE SEQUENCE"},
	"AlterSeqStmt":                 {OpDDL, "ALTER SEQUENCE"},
	"DefineStmt":                   {OpDDL, "CREATE"},
	"CreateDomainStmt":             {OpDDL, "CREATE DOMAIN"},
	"CreateOpClassStmt":            {OpDDL, "CREATE OPERATOR CLASS"},
	"CreateOpFamilyStmt":           {OpDDL, "CREATE OPERATOR FAMILY"},
	"AlterOpFamilyStmt":            {OpDDL, "ALTER OPERATOR FAMILY"},
	"DropStmt":                     {OpDDL, "DROP"},
	"TruncateStmt":                 {OpDDL, "TRUNCATE TABLE"},
	"CommentStmt":                  {OpDDL, "COMMENT"},
	"SecLabelStmt":                 {OpDDL, "SECURITY LABEL"},
	"IndexStmt":                    {OpDDL, "CREATE INDEX"},
	"CreateStatsStmt":              {OpDDL, "CREATE STATISTICS"},
	"AlterStatsStmt":               {OpDDL, "ALTER STATISTICS"},
	"CreateFunctionStmt":           {OpDDL, "CREATE FUNCTION"},
	"AlterFunctionStmt":            {OpDDL, "ALTER FUNCTION"},
	"RenameStmt":                   {OpDDL, "ALTER"},
	"AlterObjectDependsStmt":       {OpDDL, "ALTER"},
	"AlterObjectSchemaStmt":        {OpDDL, "ALTER"},
	"AlterOwnerStmt":               {OpDDL, "ALTER"},
	"AlterOperatorStmt":            {OpDDL, "ALTER OPERATOR"},
	"AlterTypeStmt":                {OpDDL, "ALTER TYPE"},
	"RuleStmt":                     {OpDDL, "CREATE RULE"},
	"CompositeTypeStmt":            {OpDDL, "CREATE TYPE"},
	"CreateEnumStmt":               {OpDDL, "CREATE TYPE"},
	"CreateRangeStmt":              {OpDDL, "CREATE TYPE"},
	"AlterEnumStmt":                {OpDDL, "ALTER TYPE"},
	"ViewStmt":                     {OpDDL, "CREATE VIEW"},
	"CreatedbStmt":                 {OpDDL, "CREATE DATABASE"},
	"AlterDatabaseStmt":            {OpDDL, "ALTER DATABASE"},
	"AlterDatabaseRefreshCollStmt": {OpDDL, "ALTER DATABASE"},
	"DropdbStmt":                   {OpDDL, "DROP DATABASE"},
	"ClusterStmt":                  {OpDDL, "CLUSTER"},
	"CreateTableAsStmt":            {OpDDL, "CREATE TABLE AS"},
	"RefreshMatViewStmt":           {OpDDL, "REFRESH MATERIALIZED VIEW"},
	"ReindexStmt":                  {OpDDL, "REINDEX"},
	"CreateConversionStmt":         {OpDDL, "CREATE CONVERSION"},
	"CreateCastStmt":               {OpDDL, "CREATE CAST"},
	"CreateTransformStmt":          {OpDDL, "CREATE TRANSFORM"},
	"DropOwnedStmt":                {OpDDL, "DROP OWNED"},
	"AlterTSDictionaryStmt":        {OpDDL, "ALTER TEXT SEARCH DICTIONARY"},
	"AlterTSConfigurationStmt":     {OpDDL, "ALTER TEXT SEARCH CONFIGURATION"},
	"CreatePublicationStmt":        {OpDDL, "CREATE PUBLICATION"},
	"AlterPublicationStmt":         {OpDDL, "ALTER PUBLICATION"},
	"CreateSubscriptionStmt":       {OpDDL, "CREATE SUBSCRIPTION"},
	"AlterSubscriptionStmt":        {OpDDL, "ALTER SUBSCRIPTION"},
	"DropSubscriptionStmt":         {OpDDL, "DROP SUBSCRIPTION"},

	// Everything else needs ALL. ALTER ROLE/DATABASE … SET and ALTER SYSTEM
	// are settings rather than schema: they are SET made to last (an
	// account could turn default_transaction_read_only off for its own
	// role), so they count as OpOther, not OpDDL. REASSIGN OWNED hands
	// over every object a role owns.
	"VariableSetStmt":      {OpOther, "SET"},
	"AlterRoleSetStmt":     {OpOther, "ALTER ROLE"},
	"AlterDatabaseSetStmt": {OpOther, "ALTER DATABASE"},
	"AlterSystemStmt":      {OpOther, "ALTER SYSTEM"},
	"CopyStmt":             {OpOther, "COPY"},
	"TransactionStmt":      {OpOther, "BEGIN"},
	"CallStmt":             {OpOther, "CALL"},
	"DoStmt":               {OpOther, "DO"},
	"ListenStmt":           {OpOther, "LISTEN"},
	"NotifyStmt":           {OpOther, "NOTIFY"},
	"UnlistenStmt":         {OpOther, "UNLISTEN"},
	"VacuumStmt":           {OpOther, "VACUUM"},
	"LockStmt":             {OpOther, "LOCK TABLE"},
	"PrepareStmt":          {OpOther, "PREPARE"},
	"ExecuteStmt":          {OpOther, "EXECUTE"},
	"DeallocateStmt":       {OpOther, "DEALLOCATE"},
	"DiscardStmt":          {OpOther, "DISCARD"},
	"DeclareCursorStmt":    {OpOther, "DECLARE CURSOR"},
	"FetchStmt":            {OpOther, "FETCH"},
	"ClosePortalStmt":      {OpOther, "CLOSE CURSOR"},
	"CheckPointStmt":       {OpOther, "CHECKPOINT"},
	"LoadStmt":             {OpOther, "LOAD"},
	"ReassignOwnedStmt":    {OpOther, "REASSIGN OWNED"},
	"ConstraintsSetStmt":   {OpOther, "SET CONSTRAINTS"},
	"PLAssignStmt":         {OpOther, "PL/pgSQL assignment"},
}

// visitedStmts are the statement types classified by their contents.
var visitedStmts = map[string]string{
	"SelectStmt": "SELECT",
	"InsertStmt": "INSERT",
	"UpdateStmt": "UPDATE",
	"DeleteStmt": "DELETE",
	"MergeStmt":  "MERGE",
}

// commandName names a top-level statement of type typ ("DropStmt") for
// messages, close to PostgreSQL's command tags. hasInto tells a SELECT …
// INTO apart.
func commandName(typ string, f stmtFields, hasInto bool) string {
	switch typ {
	case "SelectStmt":
		if hasInto {
			return "SELECT INTO"
		}
		return "SELECT"
	case "VariableSetStmt":
		switch f.enum("kind") {
		case "VAR_RESET", "VAR_RESET_ALL":
			return "RESET"
		}
		return "SET"
	case "TransactionStmt":
		if tag, ok := transactionTags[f.enum("kind")]; ok {
			return tag
		}
	case "VacuumStmt":
		if !f.flag("is_vacuumcmd") {
			return "ANALYZE"
		}
		return "VACUUM"
	case "FetchStmt":
		if f.flag("ismove") {
			return "MOVE"
		}
		return "FETCH"
	case "GrantStmt":
		if !f.flag("is_grant") {
			return "REVOKE"
		}
		return "GRANT"
	case "GrantRoleStmt":
		if !f.flag("is_grant") {
			return "REVOKE ROLE"
		}
		return "GRANT ROLE"
	case "CreateTableAsStmt":
		switch {
		case f.flag("is_select_into"):
			return "SELECT INTO"
		case f.enum("objtype") == "OBJECT_MATVIEW":
			return "CREATE MATERIALIZED VIEW"
		}
		return "CREATE TABLE AS"
	case "CreateFunctionStmt":
		if f.flag("is_procedure") {
			return "CREATE PROCEDURE"
		}
		return "CREATE FUNCTION"
	case "DropStmt":
		return objectTag("DROP", f.enum("remove_type"))
	case "AlterTableStmt", "AlterFunctionStmt":
		return objectTag("ALTER", f.enum("objtype"))
	case "RenameStmt":
		return objectTag("ALTER", f.enum("rename_type"))
	case "AlterObjectSchemaStmt", "AlterOwnerStmt", "AlterObjectDependsStmt":
		return objectTag("ALTER", f.enum("object_type"))
	case "DefineStmt":
		return objectTag("CREATE", f.enum("kind"))
	}
	if tag, ok := visitedStmts[typ]; ok {
		return tag
	}
	if k, ok := stmtKinds[typ]; ok {
		return k.tag
	}
	return "UNKNOWN"
}

var transactionTags = map[string]string{
	"TRANS_STMT_BEGIN":             "BEGIN",
	"TRANS_STMT_START":             "START TRANSACTION",
	"TRANS_STMT_COMMIT":            "COMMIT",
	"TRANS_STMT_ROLLBACK":          "ROLLBACK",
	"TRANS_STMT_SAVEPOINT":         "SAVEPOINT",
	"TRANS_STMT_RELEASE":           "RELEASE",
	"TRANS_STMT_ROLLBACK_TO":       "ROLLBACK",
	"TRANS_STMT_PREPARE":           "PREPARE TRANSACTION",
	"TRANS_STMT_COMMIT_PREPARED":   "COMMIT PREPARED",
	"TRANS_STMT_ROLLBACK_PREPARED": "ROLLBACK PREPARED",
}

// objectWords spells the object types whose enum name is not their SQL name.
var objectWords = map[string]string{
	"OBJECT_MATVIEW":               "MATERIALIZED VIEW",
	"OBJECT_FDW":                   "FOREIGN DATA WRAPPER",
	"OBJECT_FOREIGN_SERVER":        "SERVER",
	"OBJECT_LARGEOBJECT":           "LARGE OBJECT",
	"OBJECT_OPCLASS":               "OPERATOR CLASS",
	"OBJECT_OPFAMILY":              "OPERATOR FAMILY",
	"OBJECT_STATISTIC_EXT":         "STATISTICS",
	"OBJECT_TABCONSTRAINT":         "TABLE",
	"OBJECT_COLUMN":                "TABLE",
	"OBJECT_DOMCONSTRAINT":         "DOMAIN",
	"OBJECT_ATTRIBUTE":             "TYPE",
	"OBJECT_TSCONFIGURATION":       "TEXT SEARCH CONFIGURATION",
	"OBJECT_TSDICTIONARY":          "TEXT SEARCH DICTIONARY",
	"OBJECT_TSPARSER":              "TEXT SEARCH PARSER",
	"OBJECT_TSTEMPLATE":            "TEXT SEARCH TEMPLATE",
	"OBJECT_PUBLICATION_NAMESPACE": "PUBLICATION",
	"OBJECT_PUBLICATION_REL":       "PUBLICATION",
	"OBJECT_PARAMETER_ACL":         "PARAMETER",
	"OBJECT_DEFACL":                "DEFAULT PRIVILEGES",
}

// objectTag is verb + the SQL name of an ObjectType value ("DROP INDEX").
// It allocates, which is fine: it runs once per new text.
func objectTag(verb, objectType string) string {
	if w, ok := objectWords[objectType]; ok {
		return verb + " " + w
	}
	name, ok := strings.CutPrefix(objectType, "OBJECT_")
	if !ok {
		return verb
	}
	return verb + " " + strings.ReplaceAll(name, "_", " ")
}
