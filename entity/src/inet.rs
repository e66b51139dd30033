//! [`Inet`], the value of PostgreSQL `INET` columns on both backends.
//!
//! sea-orm binds an `IpNetwork` as a native `inet` parameter, which the SQLite driver
//! cannot do (it panics). `Inet` travels as text instead, and declares itself with a
//! column type that sea-orm casts on PostgreSQL only: `CAST($1 AS inet)` when writing and
//! `CAST(col AS text)` when reading there, no cast on SQLite (where the column is text).
//! `cargo xtask codegen` gives every `INET` column this type.

use std::fmt;
use std::str::FromStr;

use sea_orm::prelude::IpNetwork;
use sea_orm::sea_query::{ArrayType, ColumnType, Nullable, ValueType, ValueTypeErr};
use sea_orm::{ColIdx, QueryResult, TryGetError, TryGetable, Value};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An IPv4 or IPv6 host or network address, as PostgreSQL's `inet` holds it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Inet(pub IpNetwork);

impl fmt::Display for Inet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The form PostgreSQL's `inet::text` prints: always with the prefix length.
        write!(f, "{}/{}", self.0.ip(), self.0.prefix())
    }
}

impl FromStr for Inet {
    type Err = ipnetwork::IpNetworkError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.parse().map(Inet)
    }
}

impl From<IpNetwork> for Inet {
    fn from(network: IpNetwork) -> Self {
        Inet(network)
    }
}

impl From<Inet> for Value {
    fn from(inet: Inet) -> Self {
        Value::String(Some(inet.to_string()))
    }
}

impl Nullable for Inet {
    fn null() -> Value {
        Value::String(None)
    }
}

impl ValueType for Inet {
    fn try_from(v: Value) -> Result<Self, ValueTypeErr> {
        match v {
            Value::String(Some(s)) => s.parse().map_err(|_| ValueTypeErr),
            _ => Err(ValueTypeErr),
        }
    }

    fn type_name() -> String {
        "Inet".to_owned()
    }

    fn array_type() -> ArrayType {
        ArrayType::String
    }

    /// Declared as a PostgreSQL type sea-orm casts to and from text, which it does only
    /// on PostgreSQL.
    fn column_type() -> ColumnType {
        ColumnType::Enum {
            name: "inet".into(),
            variants: Vec::new(),
        }
    }
}

impl TryGetable for Inet {
    fn try_get_by<I: ColIdx>(res: &QueryResult, index: I) -> Result<Self, TryGetError> {
        let text = String::try_get_by(res, index)?;
        text.parse().map_err(|e| {
            TryGetError::DbErr(sea_orm::DbErr::Type(format!(
                "invalid inet value {text:?}: {e}"
            )))
        })
    }
}

impl Serialize for Inet {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Inet {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::Inet;

    #[test]
    fn prints_as_postgres_does_and_parses_back() {
        let host: Inet = "192.0.2.10".parse().expect("an address");
        assert_eq!(host.to_string(), "192.0.2.10/32");
        let net: Inet = "2001:db8::/32".parse().expect("a network");
        assert_eq!(net.to_string(), "2001:db8::/32");
        assert_eq!(net.to_string().parse::<Inet>().expect("round trip"), net);
        assert!("not an address".parse::<Inet>().is_err());
    }
}
