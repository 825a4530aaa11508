//! `pagesize` / `pageindex` as getuserdata and getdetailedsfdata take them.

use serde_json::{Map, Value};

use crate::wire::{Data, value_uint};

/// A requested page: size and 0-based index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Page {
    pub(crate) size: usize,
    pub(crate) index: usize,
}

impl Page {
    /// The slice of `items` this page covers (empty past the end).
    pub(crate) fn slice<'a, T>(&self, items: &'a [T]) -> &'a [T] {
        let start = self.index.saturating_mul(self.size).min(items.len());
        let end = start.saturating_add(self.size).min(items.len());
        items.get(start..end).unwrap_or_default()
    }
}

/// Reads paging keys from `data`, from an object nested as `data.data`, or from the request's
/// top level, in that order.
/// `Ok(None)` when no `pagesize` is given; an error text when a value is not a usable number.
pub(crate) fn page(
    data: Data<'_>,
    top: Option<&Map<String, Value>>,
) -> Result<Option<Page>, String> {
    let nested = Data::new(data.get("data"));
    let get = |k: &str| {
        data.get(k)
            .or_else(|| nested.get(k))
            .or_else(|| top?.get(k).filter(|v| !v.is_null()))
    };
    let Some(size) = get("pagesize") else {
        return Ok(None);
    };
    let size = value_uint(size)
        .filter(|s| *s > 0)
        .ok_or_else(|| "Invalid pagesize".to_owned())?;
    let index = match get("pageindex") {
        None => 0,
        Some(v) => value_uint(v).ok_or_else(|| "Invalid pageindex".to_owned())?,
    };
    Ok(Some(Page {
        size: usize::try_from(size).unwrap_or(usize::MAX),
        index: usize::try_from(index).unwrap_or(usize::MAX),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_numbers_and_strings() {
        let v = json!({"pagesize":"10","pageindex":2});
        assert_eq!(
            page(Data::new(Some(&v)), None),
            Ok(Some(Page { size: 10, index: 2 }))
        );
        let v = json!("all");
        assert_eq!(page(Data::new(Some(&v)), None), Ok(None));
        let v = json!({"pagesize":0});
        assert!(page(Data::new(Some(&v)), None).is_err());
    }

    #[test]
    fn falls_back_to_top_level() {
        let top = json!({"pagesize":5});
        let top = top.as_object();
        assert_eq!(
            page(Data::new(None), top),
            Ok(Some(Page { size: 5, index: 0 }))
        );
    }

    #[test]
    fn reads_nested_data() {
        let v = json!({"data": {"pagesize": 3, "pageindex": "1"}});
        assert_eq!(
            page(Data::new(Some(&v)), None),
            Ok(Some(Page { size: 3, index: 1 }))
        );
    }

    #[test]
    fn slices() {
        let items = [1, 2, 3, 4, 5];
        assert_eq!(Page { size: 2, index: 1 }.slice(&items), &[3, 4]);
        assert_eq!(Page { size: 2, index: 2 }.slice(&items), &[5]);
        assert!(Page { size: 2, index: 9 }.slice(&items).is_empty());
        assert!(
            Page {
                size: usize::MAX,
                index: usize::MAX
            }
            .slice(&items)
            .is_empty()
        );
    }
}
