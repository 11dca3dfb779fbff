//! `os`: file-system actions (`rename`, `remove`, `unlink`, `makedirs`).

use experiment::{Map, Param, Signature, Value};
use providers::registry::{Driver, Function, Invocation, Kind, Registry};
use providers::{BoxFuture, FailureKind, ProviderError};
use std::io::ErrorKind;

type Operation = fn(&Map) -> Result<Value, ProviderError>;

struct Sync(Operation);

impl Driver for Sync {
    fn call<'a>(
        &'a self,
        invocation: Invocation<'a>,
    ) -> BoxFuture<'a, Result<Value, ProviderError>> {
        let result = (self.0)(&invocation.arguments);
        Box::pin(async move { result })
    }
}

fn param(name: &str, default: Option<Value>) -> Param {
    Param {
        name: name.to_string(),
        default,
        type_name: None,
    }
}

pub fn register(registry: &mut Registry) {
    let dir_fd = |n: &str| param(n, Some(Value::Null));
    let functions: [(&'static str, &'static str, Vec<Param>, Operation); 4] = [
        (
            "rename",
            "Rename the file or directory src to dst.",
            vec![
                param("src", None),
                param("dst", None),
                dir_fd("src_dir_fd"),
                dir_fd("dst_dir_fd"),
            ],
            rename,
        ),
        (
            "remove",
            "Remove (delete) the file path.",
            vec![param("path", None), dir_fd("dir_fd")],
            remove,
        ),
        (
            "unlink",
            "Remove (delete) the file path.",
            vec![param("path", None), dir_fd("dir_fd")],
            remove,
        ),
        (
            "makedirs",
            "Super-mkdir; create a leaf directory and all intermediate ones.",
            vec![
                param("name", None),
                param("mode", Some(Value::from(0o777))),
                param("exist_ok", Some(Value::Bool(false))),
            ],
            makedirs,
        ),
    ];
    for (name, doc, params, operation) in functions {
        registry.register(Function {
            module: "os",
            name,
            kind: Kind::Action,
            doc,
            signature: Signature {
                params,
                var_keyword: false,
            },
            return_type: None,
            driver: Box::new(Sync(operation)),
        });
    }
}

fn text(args: &Map, name: &str) -> Result<String, ProviderError> {
    match args.get(name) {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(other) => Err(ProviderError::failed(
            FailureKind::Declaration,
            format!(
                "TypeError: {name}: path should be string, bytes or os.PathLike, not {}",
                experiment::pyrepr::py_type_name(other)
            ),
        )),
        None => Err(ProviderError::failed(
            FailureKind::Declaration,
            format!("TypeError: missing required argument '{name}'"),
        )),
    }
}

/// The Python exception text for an I/O error on `what`.
fn os_error(e: &std::io::Error, what: &str) -> ProviderError {
    let class = match e.kind() {
        ErrorKind::NotFound => "FileNotFoundError",
        ErrorKind::PermissionDenied => "PermissionError",
        ErrorKind::AlreadyExists => "FileExistsError",
        _ => "OSError",
    };
    let errno = e.raw_os_error().unwrap_or(0);
    let reason = std::io::Error::from_raw_os_error(errno)
        .to_string()
        .split(" (os error")
        .next()
        .unwrap_or_default()
        .to_string();
    ProviderError::failed(
        FailureKind::Environment,
        format!("{class}: [Errno {errno}] {reason}: {what}"),
    )
}

fn rename(args: &Map) -> Result<Value, ProviderError> {
    let (src, dst) = (text(args, "src")?, text(args, "dst")?);
    std::fs::rename(&src, &dst).map_err(|e| os_error(&e, &format!("'{src}' -> '{dst}'")))?;
    Ok(Value::Null)
}

fn remove(args: &Map) -> Result<Value, ProviderError> {
    let path = text(args, "path")?;
    std::fs::remove_file(&path).map_err(|e| os_error(&e, &format!("'{path}'")))?;
    Ok(Value::Null)
}

fn makedirs(args: &Map) -> Result<Value, ProviderError> {
    let name = text(args, "name")?;
    let exist_ok = args
        .get("exist_ok")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    if !exist_ok && std::path::Path::new(&name).exists() {
        let e = std::io::Error::from_raw_os_error(17);
        return Err(os_error(&e, &format!("'{name}'")));
    }
    std::fs::create_dir_all(&name).map_err(|e| os_error(&e, &format!("'{name}'")))?;
    Ok(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn args(v: Value) -> Map {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn rename_moves_a_real_file_and_reports_missing_ones_like_python() {
        let dir = std::env::temp_dir().join(format!("shakedown-os-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let src = dir.join("exchange.dat");
        let dst = dir.join("exchange.dat.old");
        std::fs::write(&src, b"data").expect("write");
        let a = args(json!({"src": src.to_str(), "dst": dst.to_str()}));
        assert_eq!(rename(&a), Ok(Value::Null));
        assert!(dst.exists() && !src.exists());
        let err = rename(&a).expect_err("the source is gone now");
        assert_eq!(
            err,
            ProviderError::failed(
                FailureKind::Environment,
                format!(
                    "FileNotFoundError: [Errno 2] No such file or directory: '{}' -> '{}'",
                    src.display(),
                    dst.display()
                )
            )
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn wrong_argument_types_read_like_python() {
        let err = remove(&args(json!({"path": 3}))).expect_err("not a path");
        assert_eq!(
            err,
            ProviderError::failed(
                FailureKind::Declaration,
                "TypeError: path: path should be string, bytes or os.PathLike, not int"
            )
        );
    }
}
