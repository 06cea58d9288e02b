//! The SOQL subset of the contract: a lexer, a parser that resolves names and literals
//! against the org's schema, and an evaluator.
//!
//! `SELECT f1, f2 | COUNT() FROM Obj [WHERE cond] [ORDER BY f [ASC|DESC] [NULLS FIRST|LAST], ...]
//! [LIMIT n] [OFFSET n]`, where `cond` is comparisons (`= != <> < <= > >=`, `[NOT] IN (...)`)
//! joined by `AND` or `OR` (mixing them needs parentheses, as in SOQL), `NOT` and parentheses.

use std::cmp::Ordering;

use super::schema::{self, FieldType, ID, SOBJECTS, SObject, Val};
use crate::time;

/// A refused query: the Salesforce error code and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SoqlError {
    pub code: &'static str,
    pub message: String,
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Str(String),
    Num(f64),
    DateTime(i64),
    Date(i64),
    Op(Op),
    LParen,
    RParen,
    Comma,
    Eof,
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    /// Byte offset in the query.
    at: usize,
    /// The token as written.
    text: String,
}

/// Builds Salesforce's error message: the query line, a caret, the row and column, the
/// reason.
fn error_at(query: &str, at: usize, code: &'static str, reason: &str) -> SoqlError {
    let at = at.min(query.len());
    let before = query.get(..at).unwrap_or(query);
    let row = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = query.get(line_start..at).map_or(0, |s| s.chars().count()) + 1;
    let line = query[line_start..].lines().next().unwrap_or("");
    let caret = " ".repeat(column - 1);
    SoqlError {
        code,
        message: format!("\n{line}\n{caret}^\nERROR at Row:{row}:Column:{column}\n{reason}"),
    }
}

fn lex(query: &str) -> Result<Vec<Token>, SoqlError> {
    let malformed = |at: usize, reason: &str| error_at(query, at, "MALFORMED_QUERY", reason);
    let bytes = query.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let start = i;
        let single = |tok: Tok, len: usize| Token {
            tok,
            at: start,
            text: query[start..start + len].to_owned(),
        };
        match c {
            b' ' | b'\t' | b'\n' | b'\r' => {
                i += 1;
                continue;
            }
            b'(' => tokens.push(single(Tok::LParen, 1)),
            b')' => tokens.push(single(Tok::RParen, 1)),
            b',' => tokens.push(single(Tok::Comma, 1)),
            b'=' => tokens.push(single(Tok::Op(Op::Eq), 1)),
            b'!' if bytes.get(i + 1) == Some(&b'=') => tokens.push(single(Tok::Op(Op::Ne), 2)),
            b'<' | b'>' => {
                let (op, len) = match (c, bytes.get(i + 1)) {
                    (b'<', Some(b'=')) => (Op::Le, 2),
                    (b'<', Some(b'>')) => (Op::Ne, 2),
                    (b'<', _) => (Op::Lt, 1),
                    (_, Some(b'=')) => (Op::Ge, 2),
                    _ => (Op::Gt, 1),
                };
                tokens.push(single(Tok::Op(op), len));
            }
            b'\'' => {
                i += 1;
                let mut text = String::new();
                loop {
                    let Some(ch) = query[i..].chars().next() else {
                        return Err(malformed(start, "unexpected token: <EOF>"));
                    };
                    i += ch.len_utf8();
                    match ch {
                        '\'' => break,
                        '\\' => {
                            let Some(escaped) = query[i..].chars().next() else {
                                return Err(malformed(start, "unexpected token: <EOF>"));
                            };
                            i += escaped.len_utf8();
                            text.push(match escaped {
                                '\'' | '"' | '\\' => escaped,
                                'n' => '\n',
                                'r' => '\r',
                                't' => '\t',
                                'b' => '\u{8}',
                                'f' => '\u{c}',
                                _ => {
                                    return Err(malformed(
                                        start,
                                        "Invalid string literal. Illegal escape sequence.",
                                    ));
                                }
                            });
                        }
                        other => text.push(other),
                    }
                }
                tokens.push(Token {
                    tok: Tok::Str(text),
                    at: start,
                    text: query[start..i].to_owned(),
                });
                continue;
            }
            b'0'..=b'9' | b'-' | b'+' | b'.' => {
                // A date or datetime (`2024-03-01`, `2024-03-01T12:00:00.000+0000`) or a number.
                let mut end = i + 1;
                while end < bytes.len()
                    && (bytes[end].is_ascii_alphanumeric() || b":.+-".contains(&bytes[end]))
                {
                    end += 1;
                }
                let text = &query[i..end];
                let tok = if text.len() >= 10 && text.as_bytes()[4] == b'-' {
                    if let Some(days) = time::parse_date(text) {
                        Tok::Date(days)
                    } else if let Some(ms) = time::parse_datetime(text) {
                        Tok::DateTime(ms)
                    } else {
                        return Err(malformed(i, &format!("unexpected token: '{text}'")));
                    }
                } else {
                    // Numbers end where a date could not continue: `5)` or `-5,`.
                    let mut num_end = i + usize::from(c == b'-' || c == b'+');
                    while num_end < bytes.len()
                        && (bytes[num_end].is_ascii_digit() || bytes[num_end] == b'.')
                    {
                        num_end += 1;
                    }
                    let number = &query[i..num_end];
                    match number.parse::<f64>() {
                        Ok(n) if n.is_finite() && number.bytes().any(|b| b.is_ascii_digit()) => {
                            end = num_end;
                            Tok::Num(n)
                        }
                        _ => return Err(malformed(i, &format!("unexpected token: '{text}'"))),
                    }
                };
                tokens.push(Token {
                    tok,
                    at: i,
                    text: query[i..end].to_owned(),
                });
                i = end;
                continue;
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                let mut end = i + 1;
                while end < bytes.len()
                    && (bytes[end].is_ascii_alphanumeric()
                        || bytes[end] == b'_'
                        || bytes[end] == b'.')
                {
                    end += 1;
                }
                tokens.push(Token {
                    tok: Tok::Word(query[i..end].to_owned()),
                    at: i,
                    text: query[i..end].to_owned(),
                });
                i = end;
                continue;
            }
            _ => {
                let ch = query[i..].chars().next().unwrap_or('?');
                return Err(malformed(i, &format!("unexpected token: '{ch}'")));
            }
        }
        i += tokens.last().map_or(1, |t: &Token| t.text.len());
    }
    tokens.push(Token {
        tok: Tok::Eof,
        at: query.len(),
        text: "<EOF>".into(),
    });
    Ok(tokens)
}

/// A literal as written, before it meets its field.
#[derive(Debug, Clone, PartialEq)]
enum Lit {
    Str(String),
    Num(f64),
    Bool(bool),
    Null,
    DateTime(i64),
    Date(i64),
}

/// A name as written and where.
type Name = (String, usize);

#[derive(Debug)]
enum RawCond {
    And(Vec<RawCond>),
    Or(Vec<RawCond>),
    Not(Box<RawCond>),
    Cmp {
        field: Name,
        op: Op,
        value: (Lit, usize),
    },
    In {
        field: Name,
        negated: bool,
        values: Vec<(Lit, usize)>,
    },
}

#[derive(Debug)]
struct RawOrder {
    field: Name,
    descending: bool,
    nulls_last: Option<bool>,
}

struct Parser<'q> {
    query: &'q str,
    tokens: Vec<Token>,
    next: usize,
}

impl<'q> Parser<'q> {
    fn peek(&self) -> &Token {
        // The token list always ends with `Eof`, and `advance` never moves past it.
        &self.tokens[self.next.min(self.tokens.len() - 1)]
    }

    fn advance(&mut self) -> Token {
        let token = self.peek().clone();
        if token.tok != Tok::Eof {
            self.next += 1;
        }
        token
    }

    fn unexpected(&self) -> SoqlError {
        let token = self.peek();
        let shown = if token.tok == Tok::Eof {
            "<EOF>".to_owned()
        } else {
            format!("'{}'", token.text)
        };
        error_at(
            self.query,
            token.at,
            "MALFORMED_QUERY",
            &format!("unexpected token: {shown}"),
        )
    }

    fn is_keyword(&self, keyword: &str) -> bool {
        matches!(&self.peek().tok, Tok::Word(w) if w.eq_ignore_ascii_case(keyword))
    }

    fn keyword(&mut self, keyword: &str) -> Result<(), SoqlError> {
        if self.is_keyword(keyword) {
            self.advance();
            Ok(())
        } else {
            Err(self.unexpected())
        }
    }

    fn expect(&mut self, tok: &Tok) -> Result<(), SoqlError> {
        if &self.peek().tok == tok {
            self.advance();
            Ok(())
        } else {
            Err(self.unexpected())
        }
    }

    fn name(&mut self) -> Result<Name, SoqlError> {
        let token = self.peek().clone();
        match token.tok {
            Tok::Word(w) if !is_reserved(&w) => {
                self.advance();
                Ok((w, token.at))
            }
            _ => Err(self.unexpected()),
        }
    }

    fn count(&mut self, keyword: &str) -> Result<usize, SoqlError> {
        self.keyword(keyword)?;
        let token = self.peek().clone();
        match token.tok {
            Tok::Num(n) if n >= 0.0 && n.fract() == 0.0 && n <= u32::MAX as f64 => {
                self.advance();
                Ok(n as usize)
            }
            _ => Err(self.unexpected()),
        }
    }

    fn literal(&mut self) -> Result<(Lit, usize), SoqlError> {
        let token = self.peek().clone();
        let lit = match token.tok {
            Tok::Str(s) => Lit::Str(s),
            Tok::Num(n) => Lit::Num(n),
            Tok::DateTime(ms) => Lit::DateTime(ms),
            Tok::Date(days) => Lit::Date(days),
            Tok::Word(w) if w.eq_ignore_ascii_case("true") => Lit::Bool(true),
            Tok::Word(w) if w.eq_ignore_ascii_case("false") => Lit::Bool(false),
            Tok::Word(w) if w.eq_ignore_ascii_case("null") => Lit::Null,
            _ => return Err(self.unexpected()),
        };
        self.advance();
        Ok((lit, token.at))
    }

    /// `unary ((AND unary)* | (OR unary)*)`: SOQL refuses `a AND b OR c`.
    fn condition(&mut self) -> Result<RawCond, SoqlError> {
        let first = self.unary()?;
        let joiner = if self.is_keyword("AND") {
            "AND"
        } else if self.is_keyword("OR") {
            "OR"
        } else {
            return Ok(first);
        };
        let mut parts = vec![first];
        while self.is_keyword(joiner) {
            self.advance();
            parts.push(self.unary()?);
        }
        if self.is_keyword("AND") || self.is_keyword("OR") {
            return Err(self.unexpected());
        }
        Ok(if joiner == "AND" {
            RawCond::And(parts)
        } else {
            RawCond::Or(parts)
        })
    }

    fn unary(&mut self) -> Result<RawCond, SoqlError> {
        if self.is_keyword("NOT") {
            self.advance();
            return Ok(RawCond::Not(Box::new(self.unary()?)));
        }
        if self.peek().tok == Tok::LParen {
            self.advance();
            let inner = self.condition()?;
            self.expect(&Tok::RParen)?;
            return Ok(inner);
        }
        let field = self.name()?;
        let negated = self.is_keyword("NOT");
        if negated || self.is_keyword("IN") {
            if negated {
                self.advance();
            }
            self.keyword("IN")?;
            self.expect(&Tok::LParen)?;
            let mut values = vec![self.literal()?];
            while self.peek().tok == Tok::Comma {
                self.advance();
                values.push(self.literal()?);
            }
            self.expect(&Tok::RParen)?;
            return Ok(RawCond::In {
                field,
                negated,
                values,
            });
        }
        let op = match self.peek().tok {
            Tok::Op(op) => op,
            _ => return Err(self.unexpected()),
        };
        self.advance();
        let value = self.literal()?;
        Ok(RawCond::Cmp { field, op, value })
    }
}

fn is_reserved(word: &str) -> bool {
    const RESERVED: &[&str] = &[
        "SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "ORDER", "BY", "LIMIT", "OFFSET", "IN",
        "ASC", "DESC", "NULLS", "TRUE", "FALSE", "NULL",
    ];
    RESERVED.iter().any(|r| r.eq_ignore_ascii_case(word))
}

/// A condition resolved against the schema.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Cond {
    And(Vec<Cond>),
    Or(Vec<Cond>),
    Not(Box<Cond>),
    Cmp {
        field: usize,
        op: Op,
        value: Val,
    },
    In {
        field: usize,
        negated: bool,
        values: Vec<Val>,
    },
}

/// One `ORDER BY` item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Order {
    pub field: usize,
    pub descending: bool,
    pub nulls_last: bool,
}

/// A parsed, resolved query.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Query {
    /// Index into [`SOBJECTS`].
    pub sobject: usize,
    /// `SELECT COUNT()`.
    pub count: bool,
    pub fields: Vec<usize>,
    pub filter: Option<Cond>,
    pub order: Vec<Order>,
    pub limit: Option<usize>,
    pub offset: usize,
}

/// The largest `LIMIT` of a query with `FIELDS(ALL)`.
const FIELDS_ALL_LIMIT: usize = 200;

/// Which API a query is for: Bulk API 2.0 refuses parts of SOQL that the REST API takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    Rest,
    /// No aggregates (`COUNT()`), `OFFSET` or `FIELDS()`, as Salesforce documents.
    Bulk,
}

/// Parses a REST API query and resolves it against the org's sObjects.
pub(crate) fn parse(query: &str) -> Result<Query, SoqlError> {
    parse_as(query, Dialect::Rest)
}

/// Bulk API 2.0's refusal of a valid SOQL construct it does not run.
fn unsupported_in_bulk(message: &str) -> SoqlError {
    SoqlError {
        code: "INVALIDJOB",
        message: message.to_owned(),
    }
}

/// Parses a query for `dialect` and resolves it against the org's sObjects.
pub(crate) fn parse_as(query: &str, dialect: Dialect) -> Result<Query, SoqlError> {
    let mut p = Parser {
        query,
        tokens: lex(query)?,
        next: 0,
    };
    p.keyword("SELECT")?;
    let mut count = false;
    let mut names = Vec::new();
    let mut all_fields = None;
    if p.is_keyword("COUNT") && p.tokens.get(p.next + 1).map(|t| &t.tok) == Some(&Tok::LParen) {
        p.advance();
        p.advance();
        p.expect(&Tok::RParen)?;
        count = true;
    } else {
        loop {
            // `FIELDS(ALL)`: every field, without naming them (API 51.0 and later).
            let is_fields = p.is_keyword("FIELDS")
                && p.tokens.get(p.next + 1).map(|t| &t.tok) == Some(&Tok::LParen);
            if is_fields {
                let at = p.peek().at;
                p.advance();
                p.advance();
                p.keyword("ALL")?;
                p.expect(&Tok::RParen)?;
                all_fields = Some(at);
            } else {
                names.push(p.name()?);
            }
            if p.peek().tok != Tok::Comma {
                break;
            }
            p.advance();
        }
    }
    p.keyword("FROM")?;
    let (object, object_at) = p.name()?;
    let filter = if p.is_keyword("WHERE") {
        p.advance();
        Some(p.condition()?)
    } else {
        None
    };
    let mut order = Vec::new();
    if p.is_keyword("ORDER") {
        p.advance();
        p.keyword("BY")?;
        loop {
            let field = p.name()?;
            let mut descending = false;
            if p.is_keyword("ASC") {
                p.advance();
            } else if p.is_keyword("DESC") {
                p.advance();
                descending = true;
            }
            let mut nulls_last = None;
            if p.is_keyword("NULLS") {
                p.advance();
                if p.is_keyword("FIRST") {
                    nulls_last = Some(false);
                } else if p.is_keyword("LAST") {
                    nulls_last = Some(true);
                } else {
                    return Err(p.unexpected());
                }
                p.advance();
            }
            order.push(RawOrder {
                field,
                descending,
                nulls_last,
            });
            if p.peek().tok != Tok::Comma {
                break;
            }
            p.advance();
        }
    }
    let limit = if p.is_keyword("LIMIT") {
        Some(p.count("LIMIT")?)
    } else {
        None
    };
    let offset = if p.is_keyword("OFFSET") {
        Some(p.count("OFFSET")?)
    } else {
        None
    };
    if p.peek().tok != Tok::Eof {
        return Err(p.unexpected());
    }
    // Checked once the syntax is known good, before names are resolved.
    if dialect == Dialect::Bulk {
        if count {
            return Err(unsupported_in_bulk(
                "Aggregate functions such as COUNT() are not supported by Bulk API 2.0 query",
            ));
        }
        if offset.is_some() {
            return Err(unsupported_in_bulk(
                "OFFSET is not supported by Bulk API 2.0 query",
            ));
        }
        if all_fields.is_some() {
            return Err(unsupported_in_bulk(
                "FIELDS() is not supported by Bulk API 2.0 query: select the fields by name",
            ));
        }
    }
    let offset = offset.unwrap_or(0);

    let resolver = Resolver {
        query,
        sobject: schema::sobject(&object).ok_or_else(|| {
            error_at(
                query,
                object_at,
                "INVALID_TYPE",
                &format!(
                    "sObject type '{object}' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names."
                ),
            )
        })?,
    };
    // FIELDS(ALL) is an "unbounded" field list, which Salesforce serves 200 rows at a time.
    if let Some(at) = all_fields
        && limit.is_none_or(|limit| limit > FIELDS_ALL_LIMIT)
    {
        return Err(error_at(
            query,
            at,
            "MALFORMED_QUERY",
            "The SOQL FIELDS function must have a LIMIT of at most 200",
        ));
    }
    let mut fields = Vec::with_capacity(names.len());
    for name in &names {
        let field = resolver.field(name)?;
        if fields.contains(&field) {
            return Err(error_at(
                query,
                name.1,
                "MALFORMED_QUERY",
                &format!("duplicate field selected: {}", name.0),
            ));
        }
        fields.push(field);
    }
    if all_fields.is_some() {
        for field in 0..resolver.schema().fields.len() {
            if !fields.contains(&field) {
                fields.push(field);
            }
        }
    }
    let filter = filter.map(|c| resolver.condition(c)).transpose()?;
    let order = order
        .into_iter()
        .map(|o| {
            let field = resolver.field(&o.field)?;
            if !resolver.schema().fields[field].sortable {
                return Err(resolver.invalid_field(
                    &o.field,
                    &format!("field '{}' can not be sorted in a query call", o.field.0),
                ));
            }
            Ok(Order {
                field,
                descending: o.descending,
                // SOQL's default: nulls first ascending, last descending.
                nulls_last: o.nulls_last.unwrap_or(o.descending),
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Query {
        sobject: resolver.sobject,
        count,
        fields,
        filter,
        order,
        limit,
        offset,
    })
}

struct Resolver<'q> {
    query: &'q str,
    sobject: usize,
}

impl Resolver<'_> {
    fn schema(&self) -> &'static SObject {
        &SOBJECTS[self.sobject]
    }

    fn invalid_field(&self, name: &Name, reason: &str) -> SoqlError {
        error_at(self.query, name.1, "INVALID_FIELD", reason)
    }

    fn field(&self, name: &Name) -> Result<usize, SoqlError> {
        let schema = self.schema();
        schema.field(&name.0).ok_or_else(|| {
            self.invalid_field(
                name,
                &format!(
                    "No such column '{}' on entity '{}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.",
                    name.0, schema.name
                ),
            )
        })
    }

    fn filter_field(&self, name: &Name) -> Result<usize, SoqlError> {
        let field = self.field(name)?;
        if !self.schema().fields[field].filterable {
            return Err(self.invalid_field(
                name,
                &format!("field '{}' can not be filtered in a query call", name.0),
            ));
        }
        Ok(field)
    }

    /// The literal as a value of the field's type, or SOQL's type error.
    fn value(&self, field: usize, name: &Name, lit: (Lit, usize)) -> Result<Val, SoqlError> {
        let ty = self.schema().fields[field].ty;
        let (lit, at) = lit;
        let val = match (ty, lit) {
            (_, Lit::Null) => Some(Val::Null),
            (FieldType::Id | FieldType::Reference, Lit::Str(s)) => {
                if !schema::is_id(&s) {
                    return Err(error_at(
                        self.query,
                        at,
                        "INVALID_QUERY_FILTER_OPERATOR",
                        &format!("invalid ID field: {s}"),
                    ));
                }
                Some(Val::Text(s))
            }
            (ty, Lit::Str(s)) if ty.is_text() => Some(Val::Text(s)),
            (FieldType::Boolean, Lit::Bool(b)) => Some(Val::Bool(b)),
            (FieldType::Int | FieldType::Currency, Lit::Num(n)) => Some(Val::Num(n)),
            (FieldType::Datetime, Lit::DateTime(ms)) => Some(Val::DateTime(ms)),
            (FieldType::Date, Lit::Date(days)) => Some(Val::Date(days)),
            _ => None,
        };
        val.ok_or_else(|| {
            let quoting = if ty.is_text() || matches!(ty, FieldType::Id | FieldType::Reference) {
                "should be enclosed in quotes"
            } else {
                "should not be enclosed in quotes"
            };
            error_at(
                self.query,
                at,
                "INVALID_QUERY_FILTER_OPERATOR",
                &format!(
                    "value of filter criterion for field '{}' must be of type {} and {quoting}",
                    name.0,
                    ty.soql_name()
                ),
            )
        })
    }

    fn condition(&self, raw: RawCond) -> Result<Cond, SoqlError> {
        Ok(match raw {
            RawCond::And(parts) => Cond::And(
                parts
                    .into_iter()
                    .map(|c| self.condition(c))
                    .collect::<Result<_, _>>()?,
            ),
            RawCond::Or(parts) => Cond::Or(
                parts
                    .into_iter()
                    .map(|c| self.condition(c))
                    .collect::<Result<_, _>>()?,
            ),
            RawCond::Not(inner) => Cond::Not(Box::new(self.condition(*inner)?)),
            RawCond::Cmp { field, op, value } => {
                let index = self.filter_field(&field)?;
                if self.schema().fields[index].ty == FieldType::Boolean
                    && !matches!(op, Op::Eq | Op::Ne)
                {
                    return Err(error_at(
                        self.query,
                        field.1,
                        "INVALID_QUERY_FILTER_OPERATOR",
                        &format!("invalid operator on boolean field: {}", field.0),
                    ));
                }
                let value = self.value(index, &field, value)?;
                Cond::Cmp {
                    field: index,
                    op,
                    value,
                }
            }
            RawCond::In {
                field,
                negated,
                values,
            } => {
                let index = self.filter_field(&field)?;
                let values = values
                    .into_iter()
                    .map(|v| self.value(index, &field, v))
                    .collect::<Result<_, _>>()?;
                Cond::In {
                    field: index,
                    negated,
                    values,
                }
            }
        })
    }
}

impl Cond {
    /// Whether a record (its values, in field order) matches. SOQL has no three-valued
    /// logic: `= null` matches nulls, `!= 'x'` matches nulls too, ordering never does.
    pub(crate) fn matches(&self, schema: &SObject, record: &[Val]) -> bool {
        match self {
            Cond::And(parts) => parts.iter().all(|c| c.matches(schema, record)),
            Cond::Or(parts) => parts.iter().any(|c| c.matches(schema, record)),
            Cond::Not(inner) => !inner.matches(schema, record),
            Cond::Cmp { field, op, value } => {
                let ty = schema.fields[*field].ty;
                let have = &record[*field];
                match (op, have.is_null(), value.is_null()) {
                    (Op::Eq, a, b) if a || b => a && b,
                    (Op::Ne, a, b) if a || b => a != b,
                    (_, true, _) | (_, _, true) => false,
                    (op, false, false) => {
                        let Some(ordering) = have.compare(value, ty) else {
                            return false;
                        };
                        match op {
                            Op::Eq => ordering == Ordering::Equal,
                            Op::Ne => ordering != Ordering::Equal,
                            Op::Lt => ordering == Ordering::Less,
                            Op::Le => ordering != Ordering::Greater,
                            Op::Gt => ordering == Ordering::Greater,
                            Op::Ge => ordering != Ordering::Less,
                        }
                    }
                }
            }
            Cond::In {
                field,
                negated,
                values,
            } => {
                let ty = schema.fields[*field].ty;
                let have = &record[*field];
                let found = values.iter().any(|v| match (have.is_null(), v.is_null()) {
                    (true, true) => true,
                    (false, false) => have.compare(v, ty) == Some(Ordering::Equal),
                    _ => false,
                });
                found != *negated
            }
        }
    }
}

impl Query {
    /// Orders records by the `ORDER BY` items, ties by ascending `Id` (the stand-in's
    /// choice; Salesforce leaves them unspecified).
    pub(crate) fn compare(&self, schema: &SObject, a: &[Val], b: &[Val]) -> Ordering {
        for order in &self.order {
            let ty = schema.fields[order.field].ty;
            let (x, y) = (&a[order.field], &b[order.field]);
            let ordering = match (x.is_null(), y.is_null()) {
                (true, true) => Ordering::Equal,
                (true, false) if order.nulls_last => Ordering::Greater,
                (true, false) => Ordering::Less,
                (false, true) if order.nulls_last => Ordering::Less,
                (false, true) => Ordering::Greater,
                (false, false) => {
                    let ordering = x.compare(y, ty).unwrap_or(Ordering::Equal);
                    if order.descending {
                        ordering.reverse()
                    } else {
                        ordering
                    }
                }
            };
            if ordering != Ordering::Equal {
                return ordering;
            }
        }
        a[ID]
            .compare(&b[ID], FieldType::Id)
            .unwrap_or(Ordering::Equal)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(name: &str) -> usize {
        SOBJECTS[0].must(name)
    }

    #[test]
    fn parses_the_connectors_keyset_query() {
        let q = parse(
            "SELECT Id, Name FROM Account WHERE (SystemModstamp > 2024-03-01T12:00:00.000+0000 OR (SystemModstamp = 2024-03-01T12:00:00Z AND Id > '0018d00000HbXm5AAA')) AND SystemModstamp <= 2024-03-02T00:00:00.000Z ORDER BY SystemModstamp ASC, Id ASC LIMIT 500",
        );
        let q = q.expect("valid query");
        assert_eq!(q.fields, [field("Id"), field("Name")]);
        assert_eq!(q.limit, Some(500));
        assert_eq!(q.order.len(), 2);
        let Some(Cond::And(parts)) = &q.filter else {
            panic!("{:?}", q.filter)
        };
        assert!(matches!(&parts[0], Cond::Or(or) if or.len() == 2));
    }

    #[test]
    fn fields_all_selects_every_field_at_most_200_rows_at_a_time() {
        let q = parse("SELECT Id, FIELDS(ALL) FROM Account ORDER BY Id LIMIT 200")
            .expect("valid query");
        assert_eq!(q.fields.len(), SOBJECTS[q.sobject].fields.len());
        assert_eq!(q.fields[0], field("Id"));
        for query in [
            "SELECT FIELDS(ALL) FROM Account",
            "SELECT FIELDS(ALL) FROM Account LIMIT 201",
        ] {
            let error = parse(query).expect_err(query);
            assert_eq!(error.code, "MALFORMED_QUERY", "{query}");
            assert!(error.message.contains("LIMIT of at most 200"), "{error:?}");
        }
    }

    #[test]
    fn bulk_refuses_aggregates_offset_and_fields_the_rest_api_takes() {
        for query in [
            "SELECT COUNT() FROM Account",
            "SELECT Id FROM Account ORDER BY Id LIMIT 10 OFFSET 0",
            "SELECT FIELDS(ALL) FROM Account LIMIT 10",
        ] {
            assert!(parse(query).is_ok(), "{query}");
            let error = parse_as(query, Dialect::Bulk).expect_err(query);
            assert_eq!(error.code, "INVALIDJOB", "{query}");
            assert!(error.message.contains("Bulk API 2.0"), "{error:?}");
        }
        let q = parse_as(
            "SELECT Id FROM Account ORDER BY Id DESC LIMIT 5",
            Dialect::Bulk,
        )
        .expect("ORDER BY and LIMIT are fine");
        assert_eq!(q.limit, Some(5));
    }

    #[test]
    fn keywords_and_names_are_case_insensitive() {
        let q = parse(
            "select name from ACCOUNT where name = 'x' order by name desc nulls last limit 1",
        )
        .expect("valid query");
        assert_eq!(q.fields, [field("Name")]);
        assert!(q.order[0].descending && q.order[0].nulls_last);
    }

    #[test]
    fn refuses_what_soql_refuses() {
        let cases: &[(&str, &str)] = &[
            ("SELECT Id FROM Account WHERE", "MALFORMED_QUERY"),
            (
                "SELECT Id FROM Account WHERE Name = 'a' AND Name = 'b' OR Name = 'c'",
                "MALFORMED_QUERY",
            ),
            ("SELECT Id FROM Account LIMIT -1", "MALFORMED_QUERY"),
            (
                "SELECT Id FROM Account WHERE Name = 'unterminated",
                "MALFORMED_QUERY",
            ),
            (
                "SELECT Id FROM Account WHERE Name = 'bad \\q escape'",
                "MALFORMED_QUERY",
            ),
            ("SELECT Id, Id FROM Account", "MALFORMED_QUERY"),
            ("SELECT Id FROM Account extra", "MALFORMED_QUERY"),
            (
                "SELECT Id FROM Account WHERE SystemModstamp > 2024-02-30T00:00:00Z",
                "MALFORMED_QUERY",
            ),
            ("SELECT Nope FROM Account", "INVALID_FIELD"),
            (
                "SELECT Id FROM Account ORDER BY Description",
                "INVALID_FIELD",
            ),
            ("SELECT Id FROM Nope", "INVALID_TYPE"),
            (
                "SELECT Id FROM Account WHERE SystemModstamp > '2024-03-01T00:00:00Z'",
                "INVALID_QUERY_FILTER_OPERATOR",
            ),
            (
                "SELECT Id FROM Account WHERE Name = 5",
                "INVALID_QUERY_FILTER_OPERATOR",
            ),
            (
                "SELECT Id FROM Account WHERE Id > ''",
                "INVALID_QUERY_FILTER_OPERATOR",
            ),
            (
                "SELECT Id FROM Account WHERE IsDeleted > false",
                "INVALID_QUERY_FILTER_OPERATOR",
            ),
            ("", "MALFORMED_QUERY"),
            (
                "SELECT Id FROM Account WHERE Name = 'é' AND é",
                "MALFORMED_QUERY",
            ),
        ];
        for (query, code) in cases {
            let error = parse(query).expect_err(query);
            assert_eq!(error.code, *code, "{query}: {}", error.message);
            assert!(
                error.message.contains("ERROR at Row:1:Column:"),
                "{}",
                error.message
            );
        }
    }

    #[test]
    fn the_error_points_at_the_token() {
        let error = parse("SELECT Id FROM Account WHERE Name = 'a' AND").expect_err("malformed");
        assert_eq!(
            error.message,
            "\nSELECT Id FROM Account WHERE Name = 'a' AND\n                                           ^\nERROR at Row:1:Column:44\nunexpected token: <EOF>"
        );
    }

    #[test]
    fn evaluates_nulls_and_text_like_soql() {
        let schema = &SOBJECTS[0];
        let mut record = vec![Val::Null; schema.fields.len()];
        record[ID] = Val::Text(schema::make_id("001", 7));
        record[field("Name")] = Val::Text("Acme".into());
        let check = |q: &str| {
            parse(q)
                .expect(q)
                .filter
                .expect("a filter")
                .matches(schema, &record)
        };
        assert!(check("SELECT Id FROM Account WHERE Name = 'ACME'"));
        assert!(check("SELECT Id FROM Account WHERE Industry = null"));
        assert!(check("SELECT Id FROM Account WHERE Industry != 'Tech'"));
        assert!(!check("SELECT Id FROM Account WHERE Industry > 'A'"));
        assert!(!check(
            "SELECT Id FROM Account WHERE Name != null AND Industry != null"
        ));
        assert!(check("SELECT Id FROM Account WHERE Name IN ('x', 'acme')"));
        assert!(check(
            "SELECT Id FROM Account WHERE NOT (Name NOT IN ('acme'))"
        ));
        assert!(check(
            "SELECT Id FROM Account WHERE NumberOfEmployees = null OR NumberOfEmployees > -5.5"
        ));
    }
}
