//! The command line, parsed by hand: `--name value` (or `--name=value`) options and positional
//! arguments; `--` ends the options, so a text that starts with `--` can still be checked.

use std::str::FromStr;

/// The arguments after the subcommand, taken one by one by the subcommand that knows them.
#[derive(Debug, Default)]
pub(crate) struct Args {
    options: Vec<(String, String)>,
    positional: Vec<String>,
}

impl Args {
    /// Splits `args` into options and positional arguments. Every option takes a value.
    pub(crate) fn parse(args: impl IntoIterator<Item = String>) -> Result<Self, String> {
        let mut parsed = Self::default();
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            if arg == "--" {
                parsed.positional.extend(args.by_ref());
                break;
            }
            let Some(name) = arg.strip_prefix("--").filter(|n| !n.is_empty()) else {
                parsed.positional.push(arg);
                continue;
            };
            let (name, value) = match name.split_once('=') {
                Some((name, value)) => (name.to_owned(), value.to_owned()),
                None => {
                    let value = args
                        .next()
                        .ok_or_else(|| format!("--{name} needs a value"))?;
                    (name.to_owned(), value)
                }
            };
            if parsed.options.iter().any(|(n, _)| *n == name) {
                return Err(format!("--{name} is given twice"));
            }
            parsed.options.push((name, value));
        }
        Ok(parsed)
    }

    /// The value of `--name`, if given.
    pub(crate) fn take(&mut self, name: &str) -> Option<String> {
        let at = self.options.iter().position(|(n, _)| n == name)?;
        Some(self.options.remove(at).1)
    }

    /// The value of `--name`, which must be given.
    pub(crate) fn required(&mut self, name: &str) -> Result<String, String> {
        self.take(name)
            .ok_or_else(|| format!("--{name} is required"))
    }

    /// The value of `--name` read as a `T`, if given.
    pub(crate) fn parsed<T: FromStr>(&mut self, name: &str) -> Result<Option<T>, String> {
        self.take(name)
            .map(|value| {
                value
                    .parse()
                    .map_err(|_| format!("--{name}: `{value}` is not a valid value"))
            })
            .transpose()
    }

    /// The one positional argument, `what` in messages.
    pub(crate) fn single_positional(&mut self, what: &str) -> Result<String, String> {
        match self.positional.len() {
            0 => Err(format!("{what} is missing")),
            1 => Ok(self.positional.remove(0)),
            n => Err(format!(
                "{n} arguments where one {what} was expected (quote it)"
            )),
        }
    }

    /// Fails on whatever the subcommand did not take.
    pub(crate) fn finish(self) -> Result<(), String> {
        if let Some((name, _)) = self.options.first() {
            return Err(format!("unknown option --{name}"));
        }
        if let Some(arg) = self.positional.first() {
            return Err(format!("unexpected argument `{arg}`"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &[&str]) -> Result<Args, String> {
        Args::parse(line.iter().map(|s| (*s).to_owned()))
    }

    #[test]
    fn options_take_values_in_both_spellings() {
        let mut a = args(&["--width", "430", "--env=trial", "text"]).unwrap();
        assert_eq!(a.parsed::<u32>("width").unwrap(), Some(430));
        assert_eq!(a.take("env").as_deref(), Some("trial"));
        assert_eq!(a.single_positional("text").unwrap(), "text");
        a.finish().unwrap();
    }

    #[test]
    fn a_double_dash_ends_the_options() {
        let mut a = args(&["--openid", "o1", "--", "--not an option"]).unwrap();
        assert_eq!(a.required("openid").unwrap(), "o1");
        assert_eq!(a.single_positional("text").unwrap(), "--not an option");
    }

    #[test]
    fn mistakes_are_named() {
        assert_eq!(args(&["--out"]).unwrap_err(), "--out needs a value");
        assert_eq!(
            args(&["--out", "a", "--out", "b"]).unwrap_err(),
            "--out is given twice"
        );
        let mut a = args(&["--width", "wide"]).unwrap();
        assert!(a.parsed::<u32>("width").unwrap_err().contains("`wide`"));
        assert_eq!(
            args(&["--colour", "red"]).unwrap().finish().unwrap_err(),
            "unknown option --colour"
        );
        assert_eq!(
            args(&["a", "b"])
                .unwrap()
                .single_positional("text")
                .unwrap_err(),
            "2 arguments where one text was expected (quote it)"
        );
        assert_eq!(
            args(&[]).unwrap().required("openid").unwrap_err(),
            "--openid is required"
        );
    }
}
