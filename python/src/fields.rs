//! Field encryption: one native cipher per column, Python values mapped to
//! the core's value types.
//!
//! | Python | core |
//! |---|---|
//! | `str` | `Text` |
//! | `bytes`, `bytearray` | `Bytes` |
//! | `bool` | `Bool` |
//! | `int` (64-bit) | `Int` |
//! | `float` | `Float` |
//! | aware `datetime` | `Timestamp` (microseconds since the epoch, UTC) |
//! | `date` | `Date` (days since 1970-01-01) |
//! | `Decimal` (finite) | `Decimal` (its fixed-point text) |
//! | `None` | NULL |
//!
//! What pandas and numpy hand over is taken where it is unambiguous:
//! numpy integers, floats and booleans (as their Python values),
//! `datetime64` in days (a date), aware `pd.Timestamp` (a `datetime`);
//! `pd.NA`, `pd.NaT`, a `NaT` `datetime64` and a float NaN outside float
//! columns (pandas' missing value) are NULL. An `int` in a float column is
//! taken when the float holds it exactly, as Python's typing allows.

use crate::keyring::PyKeyring;
use crate::{core_err, core_err_at, guarded, invalid_argument, panic_err, run, str_utf8, table_err};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyByteArray, PyBytes, PyFloat, PyInt, PyList, PyString, PyTuple};
use std::borrow::Cow;
use std::ops::Range;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::mpsc;
use strongroom::error::codes;
use strongroom::field::{
    ColumnSpec, FieldCipher, Mode, Normalizer, PurposeKeys, Token, Value, ValueRef, ValueType, decode_text,
};
use strongroom::{Error, SecretKey};

/// Days from 0001-01-01 (ordinal 1) to 1970-01-01.
const EPOCH_ORDINAL: i64 = 719_163;

struct PyTypes {
    datetime: Py<PyAny>,
    date: Py<PyAny>,
    decimal: Py<PyAny>,
    timedelta: Py<PyAny>,
    epoch: Py<PyAny>,
    micro: Py<PyAny>,
}

static TYPES: PyOnceLock<PyTypes> = PyOnceLock::new();

fn types(py: Python<'_>) -> PyResult<&PyTypes> {
    TYPES.get_or_try_init(py, || {
        let dt = py.import("datetime")?;
        let datetime = dt.getattr("datetime")?;
        let timedelta = dt.getattr("timedelta")?;
        let utc = dt.getattr("timezone")?.getattr("utc")?;
        let epoch = datetime.call1((1970, 1, 1, 0, 0, 0, 0, utc))?;
        let micro = timedelta.call((), Some(&[("microseconds", 1)].into_py_dict(py)?))?;
        Ok(PyTypes {
            datetime: datetime.unbind(),
            date: dt.getattr("date")?.unbind(),
            decimal: py.import("decimal")?.getattr("Decimal")?.unbind(),
            timedelta: timedelta.unbind(),
            epoch: epoch.unbind(),
            micro: micro.unbind(),
        })
    })
}

use pyo3::types::IntoPyDict;

fn invalid_value(py: Python<'_>, message: impl Into<String>) -> PyErr {
    table_err(py, &codes::INVALID_VALUE, message.into(), None)
}

/// A Python value converted for the core: borrowed from the object where
/// it holds the bytes (`bytes`, `str`) or needs none (numbers, dates), owned
/// where a copy is needed (`bytearray`, which can change; `Decimal` text).
enum Converted<'a> {
    Ref(ValueRef<'a>),
    Owned(Value),
}

impl Converted<'_> {
    fn as_value_ref(&self) -> ValueRef<'_> {
        match self {
            Converted::Ref(v) => *v,
            Converted::Owned(v) => v.as_value_ref(),
        }
    }

    fn into_value(self) -> Value {
        match self {
            Converted::Ref(v) => v.to_value(),
            Converted::Owned(v) => v,
        }
    }
}

/// The core value of a Python object (`None` for NULL) for a column of
/// type `ty`.
fn to_value(obj: &Bound<'_, PyAny>, ty: ValueType) -> PyResult<Option<Value>> {
    Ok(convert(obj, ty)?.map(Converted::into_value))
}

/// The largest integer magnitude an `f64` holds exactly (2^53).
const F64_EXACT: i64 = 1 << 53;

/// The core value of a Python object (`None` for NULL) for a column of
/// type `ty`, borrowed from the object where it can be: valid for as long
/// as the reference `obj` is held. The column type decides only what is
/// ambiguous without it (a NaN is a missing value outside float columns;
/// an int goes into a float column); the core checks the type itself.
fn convert<'a>(obj: &'a Bound<'_, PyAny>, ty: ValueType) -> PyResult<Option<Converted<'a>>> {
    use Converted::{Owned, Ref};
    let py = obj.py();
    if obj.is_none() {
        return Ok(None);
    }
    if let Ok(b) = obj.cast_exact::<PyBytes>() {
        return Ok(Some(Ref(ValueRef::Bytes(b.as_bytes()))));
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(Some(match str_utf8(s)? {
            Cow::Borrowed(t) => Ref(ValueRef::Text(t)),
            Cow::Owned(t) => Owned(Value::Text(t)),
        }));
    }
    if let Ok(b) = obj.cast::<PyBytes>() {
        return Ok(Some(Ref(ValueRef::Bytes(b.as_bytes()))));
    }
    if let Ok(b) = obj.cast::<PyBool>() {
        return Ok(Some(Ref(ValueRef::Bool(b.is_true()))));
    }
    if let Ok(i) = obj.cast::<PyInt>() {
        let v = i
            .extract::<i64>()
            .map_err(|_| invalid_value(py, "an int value must fit in 64 bits (signed)"))?;
        if ty == ValueType::Float {
            if !(-F64_EXACT..=F64_EXACT).contains(&v) {
                return Err(invalid_value(
                    py,
                    "this int has no exact float value (beyond 2**53): give a float",
                ));
            }
            #[allow(clippy::cast_precision_loss)] // exact: checked above
            return Ok(Some(Ref(ValueRef::Float(v as f64))));
        }
        return Ok(Some(Ref(ValueRef::Int(v))));
    }
    if let Ok(f) = obj.cast::<PyFloat>() {
        let v = f.value();
        if v.is_nan() && ty != ValueType::Float {
            return Ok(None); // pandas' missing value
        }
        return Ok(Some(Ref(ValueRef::Float(v))));
    }
    if let Ok(b) = obj.cast::<PyByteArray>() {
        return Ok(Some(Owned(Value::Bytes(b.to_vec()))));
    }
    let t = types(py)?;
    if obj.is_instance(t.datetime.bind(py))? {
        if !obj.get_type().is(t.datetime.bind(py)) && is_missing(obj)? {
            return Ok(None); // pd.NaT, a datetime subclass
        }
        if obj.call_method0("utcoffset")?.is_none() {
            return Err(invalid_value(
                py,
                "a naive datetime (no tzinfo) is refused: give an aware datetime \
                 (e.g. dt.replace(tzinfo=timezone.utc)); it is stored as UTC",
            ));
        }
        let micros = obj.sub(t.epoch.bind(py))?.floor_div(t.micro.bind(py))?;
        return match micros.extract::<i64>() {
            Ok(v) => Ok(Some(Ref(ValueRef::Timestamp(v)))),
            Err(_) => Err(invalid_value(py, "the datetime is out of range")),
        };
    }
    if obj.is_instance(t.date.bind(py))? {
        let ordinal: i64 = obj.call_method0("toordinal")?.extract()?;
        let days = i32::try_from(ordinal - EPOCH_ORDINAL)
            .map_err(|_| invalid_value(py, "the date is out of range"))?;
        return Ok(Some(Ref(ValueRef::Date(days))));
    }
    if obj.is_instance(t.decimal.bind(py))? {
        if !obj.call_method0("is_finite")?.is_truthy()? {
            return Err(invalid_value(
                py,
                "a Decimal value must be finite (no NaN or infinity)",
            ));
        }
        let text: String = py
            .import("builtins")?
            .getattr("format")?
            .call1((obj, "f"))?
            .extract()?;
        return Value::decimal(text)
            .map(|v| Some(Owned(v)))
            .map_err(|e| core_err(py, e));
    }
    if is_missing(obj)? {
        return Ok(None); // pd.NA
    }
    if let Some(plain) = numpy_scalar(obj)? {
        return Ok(convert(&plain, ty)?.map(|c| Owned(c.into_value())));
    }
    let ty = obj.get_type().name()?.to_string();
    Err(table_err(
        py,
        &codes::FIELD_TYPE,
        format!(
            "values of type {ty} cannot be encrypted: use str, bytes, int, float, bool, date, \
             aware datetime, Decimal or None"
        ),
        None,
    ))
}

/// Whether `obj` is pandas' missing value `pd.NA` or `pd.NaT` (checked by
/// type name, so pandas is never imported for it).
fn is_missing(obj: &Bound<'_, PyAny>) -> PyResult<bool> {
    let ty = obj.get_type();
    let name = ty.name()?;
    let name = name.to_cow()?;
    if name != "NAType" && name != "NaTType" {
        return Ok(false);
    }
    Ok(ty.module()?.to_cow()?.starts_with("pandas"))
}

/// The plain Python value of a numpy scalar (`None` for anything else):
/// integers, floats and booleans by `item()`, a `datetime64` in days as a
/// `date` and `NaT` as `None`. A `datetime64` with a time of day has no
/// time zone, so it is refused as a naive `datetime` is.
fn numpy_scalar<'py>(obj: &Bound<'py, PyAny>) -> PyResult<Option<Bound<'py, PyAny>>> {
    let py = obj.py();
    let ty = obj.get_type();
    if !ty.module()?.to_cow()?.starts_with("numpy") || !obj.hasattr("dtype")? {
        return Ok(None);
    }
    let dtype = obj.getattr("dtype")?;
    let kind: String = dtype.getattr("kind")?.extract()?;
    match kind.as_str() {
        "i" | "u" | "f" | "b" => Ok(Some(obj.call_method0("item")?)),
        "M" => {
            let numpy = py.import("numpy")?;
            if numpy.call_method1("isnat", (obj,))?.is_truthy()? {
                return Ok(Some(py.None().into_bound(py)));
            }
            let unit: String = numpy
                .call_method1("datetime_data", (&dtype,))?
                .get_item(0)?
                .extract()?;
            if matches!(unit.as_str(), "D" | "W" | "M" | "Y") {
                return Ok(Some(
                    obj.call_method1("astype", ("datetime64[D]",))?
                        .call_method0("item")?,
                ));
            }
            Err(invalid_value(
                py,
                "a numpy datetime64 has no time zone, so its instant is ambiguous: make it aware \
                 (pandas: Series.dt.tz_localize(\"UTC\")); datetime64 in days is taken as a date",
            ))
        }
        _ => Ok(None),
    }
}

/// The Python object of a core value.
fn from_value(py: Python<'_>, v: Option<&Value>) -> PyResult<Py<PyAny>> {
    let Some(v) = v else {
        return Ok(py.None());
    };
    Ok(match v {
        Value::Text(s) => PyString::new(py, s).into_any().unbind(),
        Value::Bytes(b) => PyBytes::new(py, b).into_any().unbind(),
        Value::Int(i) => i.into_pyobject(py)?.into_any().unbind(),
        Value::Float(f) => f.into_pyobject(py)?.into_any().unbind(),
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any().unbind(),
        Value::Date(d) => {
            let t = types(py)?;
            t.date
                .bind(py)
                .call_method1("fromordinal", (i64::from(*d) + EPOCH_ORDINAL,))?
                .unbind()
        }
        Value::Timestamp(us) => {
            let t = types(py)?;
            let delta = t
                .timedelta
                .bind(py)
                .call((), Some(&[("microseconds", *us)].into_py_dict(py)?))?;
            t.epoch.bind(py).add(delta)?.unbind()
        }
        Value::Decimal(s) => types(py)?.decimal.bind(py).call1((s.as_str(),))?.unbind(),
    })
}

/// A row key: bytes as given, str as UTF-8, int as its decimal digits
/// (borrowed from the object when it can be).
fn row_key_ref<'a>(obj: &'a Bound<'_, PyAny>) -> PyResult<Cow<'a, [u8]>> {
    if let Ok(b) = obj.cast::<PyBytes>() {
        return Ok(Cow::Borrowed(b.as_bytes()));
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(match str_utf8(s)? {
            Cow::Borrowed(t) => Cow::Borrowed(t.as_bytes()),
            Cow::Owned(t) => Cow::Owned(t.into_bytes()),
        });
    }
    if obj.cast::<PyInt>().is_ok() && obj.cast::<PyBool>().is_err() {
        return Ok(Cow::Owned(obj.str()?.to_cow()?.as_bytes().to_vec()));
    }
    Err(invalid_argument(obj.py(), "a row key is bytes, str or int"))
}

/// Token bytes from bytes (borrowed), bytearray (copied) or the text
/// form (`sr1.`...).
fn token_ref<'a>(obj: &'a Bound<'_, PyAny>) -> PyResult<Cow<'a, [u8]>> {
    if let Ok(b) = obj.cast::<PyBytes>() {
        return Ok(Cow::Borrowed(b.as_bytes()));
    }
    if let Ok(b) = obj.cast::<PyByteArray>() {
        return Ok(Cow::Owned(b.to_vec()));
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return decode_text(&str_utf8(s)?)
            .map(Cow::Owned)
            .map_err(|e| core_err(obj.py(), e));
    }
    Err(invalid_argument(
        obj.py(),
        "a token is bytes or its text form (str)",
    ))
}

fn token_out(py: Python<'_>, t: &Token, text: bool) -> Py<PyAny> {
    if text {
        PyString::new(py, &t.to_text()).into_any().unbind()
    } else {
        PyBytes::new(py, t.as_bytes()).into_any().unbind()
    }
}

/// Encrypts, decrypts and indexes the values of one column.
#[pyclass(module = "strongroom._native", name = "FieldCipher", frozen)]
struct PyFieldCipher {
    inner: Arc<FieldCipher>,
}

impl PyFieldCipher {
    /// The column's value type (for the conversions that depend on it).
    fn value_type(&self) -> ValueType {
        self.inner.spec().value_type
    }
}

#[pymethods]
impl PyFieldCipher {
    /// Builds the cipher of column `table.column` holding `value_type`
    /// values ("text", "bytes", "int", "float", "bool", "date",
    /// "timestamp", "decimal").
    #[new]
    #[pyo3(signature = (keyring, table, column, value_type, deterministic=false, hide_null=false, blind_index=None, accept=Vec::new(), allow_dropping_row_binding=false, unlinkable_batches=false))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        keyring: Py<PyKeyring>,
        table: String,
        column: String,
        value_type: &str,
        deterministic: bool,
        hide_null: bool,
        blind_index: Option<(usize, String)>,
        accept: Vec<String>,
        allow_dropping_row_binding: bool,
        unlinkable_batches: bool,
    ) -> PyResult<Self> {
        let mut spec = column_spec(py, value_type, deterministic, hide_null, blind_index, &accept)?;
        if unlinkable_batches {
            spec = spec.unlinkable_batches();
        }
        let cipher = run(py, || {
            keyring.get().with(|kr| {
                let c = FieldCipher::new(kr, &table, &column, spec)?;
                Ok(if allow_dropping_row_binding {
                    c.allow_dropping_row_binding()
                } else {
                    c
                })
            })
        })?;
        Ok(Self {
            inner: Arc::new(cipher),
        })
    }

    /// Hazmat: a cipher from raw purpose keys `(field, deterministic,
    /// blind_index)` of one key version, for test vectors and keys held
    /// outside a keyring.
    #[staticmethod]
    #[pyo3(signature = (table, column, value_type, key_version, keys, deterministic=false, hide_null=false, blind_index=None))]
    #[allow(clippy::too_many_arguments)]
    fn with_keys(
        py: Python<'_>,
        table: String,
        column: String,
        value_type: &str,
        key_version: u32,
        keys: (Vec<u8>, Vec<u8>, Vec<u8>),
        deterministic: bool,
        hide_null: bool,
        blind_index: Option<(usize, String)>,
    ) -> PyResult<Self> {
        let spec = column_spec(py, value_type, deterministic, hide_null, blind_index, &[])?;
        let key = |mut v: Vec<u8>| {
            let k = SecretKey::from_slice(&v);
            zeroize::Zeroize::zeroize(&mut v);
            k.ok_or_else(|| invalid_argument(py, "purpose keys are 32 bytes each"))
        };
        let pk = PurposeKeys {
            field: key(keys.0)?,
            deterministic: key(keys.1)?,
            blind_index: key(keys.2)?,
        };
        let cipher = run(py, || {
            FieldCipher::with_keys(&table, &column, spec, key_version, vec![(key_version, pk)])
        })?;
        Ok(Self {
            inner: Arc::new(cipher),
        })
    }

    /// The primary key version new tokens are made with.
    #[getter]
    fn primary_version(&self) -> u32 {
        self.inner.primary_version()
    }

    /// Encrypts one value (bound to `row` if given); `None` stays `None`
    /// unless the column hides NULLs. Returns bytes, or text when `text`.
    #[pyo3(signature = (value, row=None, text=false))]
    fn encrypt(
        &self,
        py: Python<'_>,
        value: &Bound<'_, PyAny>,
        row: Option<&Bound<'_, PyAny>>,
        text: bool,
    ) -> PyResult<Py<PyAny>> {
        guarded(py, || {
            let v = convert(value, self.value_type())?;
            let row = row.map(row_key_ref).transpose()?;
            match self
                .inner
                .encrypt_ref(v.as_ref().map(Converted::as_value_ref), row.as_deref())
            {
                Ok(Some(t)) => Ok(token_out(py, &t, text)),
                Ok(None) => Ok(py.None()),
                Err(e) => Err(core_err(py, e)),
            }
        })
    }

    /// Decrypts one token (bytes or text); `None` stays `None`.
    #[pyo3(signature = (token, row=None))]
    fn decrypt(
        &self,
        py: Python<'_>,
        token: &Bound<'_, PyAny>,
        row: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        guarded(py, || {
            if token.is_none() {
                return Ok(py.None());
            }
            let t = token_ref(token)?;
            let row = row.map(row_key_ref).transpose()?;
            let v = self
                .inner
                .decrypt(&t, row.as_deref())
                .map_err(|e| core_err(py, e))?;
            from_value(py, v.as_ref())
        })
    }

    /// The blind-index term of a value (bytes), `None` for a kept NULL.
    fn index(&self, py: Python<'_>, value: &Bound<'_, PyAny>) -> PyResult<Option<Py<PyBytes>>> {
        guarded(py, || {
            let v = convert(value, self.value_type())?;
            let term = self
                .inner
                .index_ref(v.as_ref().map(Converted::as_value_ref))
                .map_err(|e| core_err(py, e))?;
            Ok(term.map(|t| PyBytes::new(py, t.as_bytes()).unbind()))
        })
    }

    /// The index terms of a value under every usable key version (for a
    /// query during a key rotation: `WHERE idx IN (...)`).
    fn lookup_terms(&self, py: Python<'_>, value: &Bound<'_, PyAny>) -> PyResult<Vec<Py<PyBytes>>> {
        guarded(py, || {
            let v = to_value(value, self.value_type())?;
            let terms = self.inner.lookup_terms(v.as_ref()).map_err(|e| core_err(py, e))?;
            Ok(terms
                .iter()
                .map(|t| PyBytes::new(py, t.as_bytes()).unbind())
                .collect())
        })
    }

    /// The tokens of a value in a deterministic column under every usable
    /// key version (for `WHERE col IN (...)`).
    fn lookup_tokens(&self, py: Python<'_>, value: &Bound<'_, PyAny>) -> PyResult<Vec<Py<PyBytes>>> {
        guarded(py, || {
            let v = to_value(value, self.value_type())?;
            let toks = self
                .inner
                .lookup_tokens(v.as_ref())
                .map_err(|e| core_err(py, e))?;
            Ok(toks
                .iter()
                .map(|t| PyBytes::new(py, t.as_bytes()).unbind())
                .collect())
        })
    }

    /// Whether a token was made under an older key version or another mode.
    fn needs_rewrap(&self, py: Python<'_>, token: &Bound<'_, PyAny>) -> PyResult<bool> {
        guarded(py, || {
            let t = token_ref(token)?;
            self.inner.needs_rewrap(&t).map_err(|e| core_err(py, e))
        })
    }

    /// Re-encrypts a token under the primary version (and the column's
    /// mode); text in, text out.
    #[pyo3(signature = (token, row=None))]
    fn rewrap(
        &self,
        py: Python<'_>,
        token: &Bound<'_, PyAny>,
        row: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        guarded(py, || {
            let text = token.cast::<PyString>().is_ok();
            let t = token_ref(token)?;
            let row = row.map(row_key_ref).transpose()?;
            let out = self
                .inner
                .rewrap(&t, row.as_deref())
                .map_err(|e| core_err(py, e))?;
            Ok(token_out(py, &out, text))
        })
    }

    /// Encrypts many values on all cores (the interpreter is released).
    #[pyo3(signature = (values, rows=None, text=false))]
    fn encrypt_many(
        &self,
        py: Python<'_>,
        values: &Bound<'_, PyAny>,
        rows: Option<&Bound<'_, PyAny>>,
        text: bool,
    ) -> PyResult<Py<PyList>> {
        let items = items_of(values)?;
        let rows = row_items(rows, items.len())?;
        let mut out = Output::new(py, items.len())?;
        let inner = &*self.inner;
        let ty = self.value_type();
        pipelined(
            py,
            items.len(),
            |r| {
                Ok((
                    load_values(py, &items[r.clone()], r.start, ty)?,
                    load_rows(py, rows.as_deref(), r)?,
                ))
            },
            |(vals, rows)| inner.encrypt_batch_ref(&value_refs(&vals), row_refs(&rows).as_deref()),
            |_, tokens| {
                for t in tokens.iter() {
                    match t {
                        Some(t) => out.push(token_out(py, t, text))?,
                        None => out.push(py.None())?,
                    }
                }
                Ok(())
            },
        )?;
        Ok(out.list.unbind())
    }

    /// Decrypts many tokens on all cores; the first failing item raises
    /// (its position is the exception's `index`).
    #[pyo3(signature = (tokens, rows=None))]
    fn decrypt_many(
        &self,
        py: Python<'_>,
        tokens: &Bound<'_, PyAny>,
        rows: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyList>> {
        let items = items_of(tokens)?;
        let rows = row_items(rows, items.len())?;
        let mut out = Output::new(py, items.len())?;
        let inner = &*self.inner;
        pipelined(
            py,
            items.len(),
            |r| load_tokens_and_rows(py, &items, rows.as_deref(), r),
            |(toks, rows)| inner.decrypt_batch(&toks, row_refs(&rows).as_deref()),
            |start, results| {
                for (i, r) in results.iter_mut().enumerate() {
                    match r {
                        Ok(v) => out.push(from_value(py, v.as_ref())?)?,
                        Err(_) => return Err(item_err(py, r, start + i)),
                    }
                }
                Ok(())
            },
        )?;
        Ok(out.list.unbind())
    }

    /// Blind-index terms of many values on all cores.
    fn index_many(&self, py: Python<'_>, values: &Bound<'_, PyAny>) -> PyResult<Py<PyList>> {
        let items = items_of(values)?;
        let mut out = Output::new(py, items.len())?;
        let inner = &*self.inner;
        let ty = self.value_type();
        pipelined(
            py,
            items.len(),
            |r| load_values(py, &items[r.clone()], r.start, ty),
            |vals| inner.index_batch_ref(&value_refs(&vals)),
            |_, terms| {
                for t in terms.iter() {
                    match t {
                        Some(t) => out.push(PyBytes::new(py, t.as_bytes()))?,
                        None => out.push(py.None())?,
                    }
                }
                Ok(())
            },
        )?;
        Ok(out.list.unbind())
    }

    /// Rewraps many tokens on all cores; the first failure raises.
    #[pyo3(signature = (tokens, rows=None, text=false))]
    fn rewrap_many(
        &self,
        py: Python<'_>,
        tokens: &Bound<'_, PyAny>,
        rows: Option<&Bound<'_, PyAny>>,
        text: bool,
    ) -> PyResult<Py<PyList>> {
        let items = items_of(tokens)?;
        let rows = row_items(rows, items.len())?;
        let mut out = Output::new(py, items.len())?;
        let inner = &*self.inner;
        pipelined(
            py,
            items.len(),
            |r| load_tokens_and_rows(py, &items, rows.as_deref(), r),
            |(toks, rows)| inner.rewrap_batch(&toks, row_refs(&rows).as_deref()),
            |start, results| {
                for (i, r) in results.iter_mut().enumerate() {
                    match r {
                        Ok(Some(t)) => out.push(token_out(py, t, text))?,
                        Ok(None) => out.push(py.None())?,
                        Err(_) => return Err(item_err(py, r, start + i)),
                    }
                }
                Ok(())
            },
        )?;
        Ok(out.list.unbind())
    }
}

/// A batch's result list, made at its full length (no regrowth) and
/// filled in order.
struct Output<'py> {
    list: Bound<'py, PyList>,
    next: usize,
}

impl<'py> Output<'py> {
    fn new(py: Python<'py>, n: usize) -> PyResult<Self> {
        let list = PyList::new(py, (0..n).map(|_| py.None()))?;
        Ok(Self { list, next: 0 })
    }

    fn push(&mut self, obj: impl IntoPyObject<'py>) -> PyResult<()> {
        self.list.set_item(self.next, obj)?;
        self.next += 1;
        Ok(())
    }
}

/// Items per block of a batch: the calling thread converts one block in
/// and the previous one out (holding the interpreter) while the worker
/// thread encrypts the block between them on the pool (without it).
const BLOCK: usize = 8 * 1024;

/// Runs a batch of `n` items in blocks of [`BLOCK`]: `load` converts the
/// Python items of a range (interpreter held), `work` runs the core's batch
/// call on them (interpreter released, panics caught), `store` converts a
/// block's results back (interpreter held, blocks in order, given the
/// block's start). Up to two blocks are in flight, so conversions overlap
/// the encryption, and the worker thread also frees (and wipes) each
/// block's results once stored, off the interpreter's thread. Errors keep
/// their position in the whole input; a failing `load` is raised after any
/// earlier block's own error.
fn pipelined<I: Send, O: Send>(
    py: Python<'_>,
    n: usize,
    mut load: impl FnMut(Range<usize>) -> PyResult<I>,
    work: impl Fn(I) -> strongroom::Result<O> + Sync,
    mut store: impl FnMut(usize, &mut O) -> PyResult<()>,
) -> PyResult<()> {
    if n <= BLOCK {
        let input = load(0..n)?;
        let mut output = run(py, || work(input))?;
        store(0, &mut output)?;
        py.detach(move || drop(output));
        return Ok(());
    }
    enum Job<I, O> {
        Work(usize, I),
        Free(O),
    }
    type Done<O> = (usize, std::thread::Result<strongroom::Result<O>>);
    std::thread::scope(|scope| {
        // Unbounded, but at most two `Work` jobs are ever queued.
        let (in_tx, in_rx) = mpsc::channel::<Job<I, O>>();
        let (out_tx, out_rx) = mpsc::channel::<Done<O>>();
        let work = &work;
        scope.spawn(move || {
            for job in in_rx {
                match job {
                    Job::Work(start, input) => {
                        let r = catch_unwind(AssertUnwindSafe(|| work(input)));
                        if out_tx.send((start, r)).is_err() {
                            break;
                        }
                    }
                    Job::Free(output) => drop(output),
                }
            }
        });
        let mut out_rx = Some(out_rx);
        let mut next = 0;
        let mut in_flight = 0;
        let mut load_err: Option<PyErr> = None;
        loop {
            while in_flight < 2 && next < n && load_err.is_none() {
                let end = (next + BLOCK).min(n);
                match load(next..end) {
                    Ok(input) => {
                        in_tx.send(Job::Work(next, input)).map_err(|_| panic_err(py))?;
                        in_flight += 1;
                        next = end;
                    }
                    Err(e) => load_err = Some(e),
                }
            }
            if in_flight == 0 {
                break;
            }
            let rx = out_rx.take().ok_or_else(|| panic_err(py))?;
            let (rx, done) = py.detach(move || {
                let done = rx.recv();
                (rx, done)
            });
            out_rx = Some(rx);
            in_flight -= 1;
            let (start, result) = done.map_err(|_| panic_err(py))?;
            match result {
                Err(_) => return Err(panic_err(py)),
                Ok(Err(e)) => return Err(batch_err(py, e, start)),
                Ok(Ok(mut output)) => {
                    store(start, &mut output)?;
                    in_tx.send(Job::Free(output)).map_err(|_| panic_err(py))?;
                }
            }
        }
        load_err.map_or(Ok(()), Err)
    })
}

/// The exception of a failed result item at `index` in the input (taken
/// out of the block's results).
fn item_err<T>(py: Python<'_>, r: &mut strongroom::Result<T>, index: usize) -> PyErr {
    match std::mem::replace(r, Err(Error::InvalidArgument(String::new()))) {
        Err(e) => core_err_at(py, e, Some(index)),
        Ok(_) => panic_err(py),
    }
}

/// The exception of a failed block whose first item is `start` in the input.
fn batch_err(py: Python<'_>, e: Error, start: usize) -> PyErr {
    match e {
        Error::Batch { index, source } => core_err_at(py, *source, Some(start + index)),
        other => core_err(py, other),
    }
}

/// The items of a sequence or iterable, each held for the whole call: the
/// interpreter is released while blocks are encrypted, and the caller's
/// list may change meanwhile.
fn items_of<'py>(obj: &Bound<'py, PyAny>) -> PyResult<Vec<Bound<'py, PyAny>>> {
    if let Ok(list) = obj.cast::<PyList>() {
        return Ok(list.iter().collect());
    }
    if let Ok(tuple) = obj.cast::<PyTuple>() {
        return Ok(tuple.iter().collect());
    }
    obj.try_iter()?.collect()
}

/// The row keys' items, one per value.
fn row_items<'py>(rows: Option<&Bound<'py, PyAny>>, n: usize) -> PyResult<Option<Vec<Bound<'py, PyAny>>>> {
    let Some(rows) = rows else { return Ok(None) };
    let items = items_of(rows)?;
    if items.len() != n {
        return Err(invalid_argument(
            rows.py(),
            format!("{} row keys for {n} values: give one per value", items.len()),
        ));
    }
    Ok(Some(items))
}

/// Converts `items` (the input from position `start`) with `f`, one
/// allocation for the block; an item's error carries its position.
fn load<'a, T>(
    py: Python<'_>,
    items: &'a [Bound<'_, PyAny>],
    start: usize,
    f: impl Fn(&'a Bound<'_, PyAny>) -> PyResult<T>,
) -> PyResult<Vec<T>> {
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        out.push(f(item).map_err(|e| with_index(py, e, start + i))?);
    }
    Ok(out)
}

fn load_values<'a>(
    py: Python<'_>,
    items: &'a [Bound<'_, PyAny>],
    start: usize,
    ty: ValueType,
) -> PyResult<Vec<Option<Converted<'a>>>> {
    load(py, items, start, |obj| convert(obj, ty))
}

fn value_refs<'a>(vals: &'a [Option<Converted<'_>>]) -> Vec<Option<ValueRef<'a>>> {
    vals.iter()
        .map(|v| v.as_ref().map(Converted::as_value_ref))
        .collect()
}

fn load_tokens<'a>(
    py: Python<'_>,
    items: &'a [Bound<'_, PyAny>],
    start: usize,
) -> PyResult<Vec<Option<Cow<'a, [u8]>>>> {
    load(py, items, start, |t| {
        if t.is_none() {
            Ok(None)
        } else {
            token_ref(t).map(Some)
        }
    })
}

fn load_rows<'a>(
    py: Python<'_>,
    rows: Option<&'a [Bound<'_, PyAny>]>,
    range: Range<usize>,
) -> PyResult<Option<Vec<Cow<'a, [u8]>>>> {
    let Some(rows) = rows else { return Ok(None) };
    let start = range.start;
    load(py, &rows[range], start, row_key_ref).map(Some)
}

/// One block's tokens and row keys (items `range` of both).
type TokenBlock<'a> = (Vec<Option<Cow<'a, [u8]>>>, Option<Vec<Cow<'a, [u8]>>>);

fn load_tokens_and_rows<'a>(
    py: Python<'_>,
    items: &'a [Bound<'_, PyAny>],
    rows: Option<&'a [Bound<'_, PyAny>]>,
    range: Range<usize>,
) -> PyResult<TokenBlock<'a>> {
    Ok((
        load_tokens(py, &items[range.clone()], range.start)?,
        load_rows(py, rows, range)?,
    ))
}

fn row_refs<'a>(rows: &'a Option<Vec<Cow<'_, [u8]>>>) -> Option<Vec<&'a [u8]>> {
    rows.as_ref().map(|r| r.iter().map(|k| k.as_ref()).collect())
}

fn column_spec(
    py: Python<'_>,
    value_type: &str,
    deterministic: bool,
    hide_null: bool,
    blind_index: Option<(usize, String)>,
    accept: &[String],
) -> PyResult<ColumnSpec> {
    let ty = ValueType::from_name(value_type)
        .ok_or_else(|| invalid_argument(py, format!("unknown value type {value_type:?}")))?;
    let mut spec = ColumnSpec::new(ty);
    if deterministic {
        spec = spec.deterministic();
    }
    if hide_null {
        spec = spec.hide_null();
    }
    if let Some((len, norm)) = blind_index {
        let n = Normalizer::from_name(&norm)
            .ok_or_else(|| invalid_argument(py, format!("unknown normaliser {norm:?}")))?;
        spec = spec.with_blind_index(len, n);
    }
    for m in accept {
        spec = spec.accept_mode(match m.as_str() {
            "random" => Mode::Random,
            "deterministic" => Mode::Deterministic,
            _ => return Err(invalid_argument(py, format!("unknown mode {m:?}"))),
        });
    }
    Ok(spec)
}

/// Sets `index` on a strongroom exception raised for item `i`.
fn with_index(py: Python<'_>, e: PyErr, i: usize) -> PyErr {
    let _ = e.value(py).setattr("index", i);
    e
}

/// Adds the class to the module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyFieldCipher>()
}
