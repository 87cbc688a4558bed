//! nodeadm's `maxPodsExpression`: a CEL expression over `default_enis`,
//! `ips_per_eni` and `max_pods` (`data/eks.json` `max_pods_settings`;
//! amazon-eks-ami `nodeadm/internal/kubelet/eni_max_pods.go`). This reads the
//! integer subset the documented examples use: `+ - * / %`, comparisons,
//! `&& || !`, `cond ? a : b`, parentheses and the three variables. Anything
//! else is refused (the caller then treats max pods as not known), never
//! guessed.

/// The variables nodeadm binds.
#[derive(Debug, Clone, Copy)]
pub struct Vars {
    pub default_enis: i64,
    pub ips_per_eni: i64,
    pub max_pods: i64,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Value {
    Int(i64),
    Bool(bool),
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Int(i64),
    Ident(String),
    Op(&'static str),
}

const OPS: &[&str] = &[
    "<=", ">=", "==", "!=", "&&", "||", "+", "-", "*", "/", "%", "<", ">", "!", "?", ":", "(", ")",
];

fn lex(text: &str) -> Result<Vec<Tok>, String> {
    let mut out = Vec::new();
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
        } else if c.is_ascii_digit() {
            let start = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            let n: i64 = text[start..i]
                .parse()
                .map_err(|_| format!("number {} too large", &text[start..i]))?;
            out.push(Tok::Int(n));
        } else if c.is_ascii_alphabetic() || c == b'_' {
            let start = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            out.push(Tok::Ident(text[start..i].to_string()));
        } else if let Some(op) = OPS.iter().find(|op| text[i..].starts_with(**op)) {
            out.push(Tok::Op(op));
            i += op.len();
        } else {
            return Err(format!("unsupported character {:?}", c as char));
        }
    }
    Ok(out)
}

struct Parser<'a> {
    toks: &'a [Tok],
    at: usize,
    vars: Vars,
    depth: usize,
}

const MAX_DEPTH: usize = 64;

impl Parser<'_> {
    fn peek_op(&self) -> Option<&'static str> {
        match self.toks.get(self.at) {
            Some(Tok::Op(op)) => Some(op),
            _ => None,
        }
    }

    fn eat(&mut self, op: &str) -> bool {
        if self.peek_op() == Some(op) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn int(v: Value) -> Result<i64, String> {
        match v {
            Value::Int(i) => Ok(i),
            Value::Bool(_) => Err("a boolean where a number is needed".into()),
        }
    }

    fn boolean(v: Value) -> Result<bool, String> {
        match v {
            Value::Bool(b) => Ok(b),
            Value::Int(_) => Err("a number where a boolean is needed".into()),
        }
    }

    fn ternary(&mut self) -> Result<Value, String> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err("expression nested too deeply".into());
        }
        let cond = self.or()?;
        let v = if self.eat("?") {
            let a = self.ternary()?;
            if !self.eat(":") {
                return Err("`?` without `:`".into());
            }
            let b = self.ternary()?;
            if Self::boolean(cond)? {
                a
            } else {
                b
            }
        } else {
            cond
        };
        self.depth -= 1;
        Ok(v)
    }

    fn or(&mut self) -> Result<Value, String> {
        let mut l = self.and()?;
        while self.eat("||") {
            let r = self.and()?;
            l = Value::Bool(Self::boolean(l)? || Self::boolean(r)?);
        }
        Ok(l)
    }

    fn and(&mut self) -> Result<Value, String> {
        let mut l = self.cmp()?;
        while self.eat("&&") {
            let r = self.cmp()?;
            l = Value::Bool(Self::boolean(l)? && Self::boolean(r)?);
        }
        Ok(l)
    }

    fn cmp(&mut self) -> Result<Value, String> {
        let l = self.sum()?;
        for op in ["<=", ">=", "==", "!=", "<", ">"] {
            if self.eat(op) {
                let r = self.sum()?;
                if let (Value::Bool(a), Value::Bool(b)) = (l, r) {
                    return match op {
                        "==" => Ok(Value::Bool(a == b)),
                        "!=" => Ok(Value::Bool(a != b)),
                        _ => Err(format!("`{op}` between booleans")),
                    };
                }
                let (a, b) = (Self::int(l)?, Self::int(r)?);
                return Ok(Value::Bool(match op {
                    "<=" => a <= b,
                    ">=" => a >= b,
                    "==" => a == b,
                    "!=" => a != b,
                    "<" => a < b,
                    _ => a > b,
                }));
            }
        }
        Ok(l)
    }

    fn sum(&mut self) -> Result<Value, String> {
        let mut l = Self::int(self.product()?)?;
        loop {
            if self.eat("+") {
                let r = Self::int(self.product()?)?;
                l = l.checked_add(r).ok_or("integer overflow")?;
            } else if self.eat("-") {
                let r = Self::int(self.product()?)?;
                l = l.checked_sub(r).ok_or("integer overflow")?;
            } else {
                return Ok(Value::Int(l));
            }
        }
    }

    fn product(&mut self) -> Result<Value, String> {
        let first = self.unary()?;
        if !matches!(self.peek_op(), Some("*" | "/" | "%")) {
            return Ok(first);
        }
        let mut l = Self::int(first)?;
        loop {
            let op = match self.peek_op() {
                Some(op @ ("*" | "/" | "%")) => op,
                _ => return Ok(Value::Int(l)),
            };
            self.at += 1;
            let r = Self::int(self.unary()?)?;
            l = match op {
                "*" => l.checked_mul(r),
                "/" => l.checked_div(r),
                _ => l.checked_rem(r),
            }
            .ok_or("division by zero or overflow")?;
        }
    }

    fn unary(&mut self) -> Result<Value, String> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err("expression nested too deeply".into());
        }
        let v = self.unary_inner();
        self.depth -= 1;
        v
    }

    fn unary_inner(&mut self) -> Result<Value, String> {
        if self.eat("-") {
            let v = Self::int(self.unary()?)?;
            return Ok(Value::Int(v.checked_neg().ok_or("integer overflow")?));
        }
        if self.eat("!") {
            return Ok(Value::Bool(!Self::boolean(self.unary()?)?));
        }
        self.atom()
    }

    fn atom(&mut self) -> Result<Value, String> {
        let tok = self.toks.get(self.at).cloned();
        self.at += 1;
        match tok {
            Some(Tok::Int(n)) => Ok(Value::Int(n)),
            Some(Tok::Ident(name)) => match name.as_str() {
                "default_enis" => Ok(Value::Int(self.vars.default_enis)),
                "ips_per_eni" => Ok(Value::Int(self.vars.ips_per_eni)),
                "max_pods" => Ok(Value::Int(self.vars.max_pods)),
                "true" => Ok(Value::Bool(true)),
                "false" => Ok(Value::Bool(false)),
                other => Err(format!("unknown name {other:?}")),
            },
            Some(Tok::Op("(")) => {
                let v = self.ternary()?;
                if !self.eat(")") {
                    return Err("unbalanced parentheses".into());
                }
                Ok(v)
            }
            Some(Tok::Op(op)) => Err(format!("unexpected `{op}`")),
            None => Err("unexpected end of expression".into()),
        }
    }
}

/// Evaluate `expression`: the max pods it yields, or why it cannot be read.
/// A result that is not a positive int32 is refused, as nodeadm does.
pub fn evaluate(expression: &str, vars: Vars) -> Result<u32, String> {
    let toks = lex(expression)?;
    let mut p = Parser {
        toks: &toks,
        at: 0,
        vars,
        depth: 0,
    };
    let v = p.ternary()?;
    if p.at != toks.len() {
        return Err("trailing input after the expression".into());
    }
    let n = Parser::int(v)?;
    if n <= 0 || n > i64::from(i32::MAX) {
        return Err(format!("result {n} is not a positive int32"));
    }
    u32::try_from(n).map_err(|_| format!("result {n} out of range"))
}

#[cfg(test)]
mod tests {
    use super::*;

    // m5.large: 3 ENIs, 10 IPv4 per ENI, standard max pods 29.
    const M5: Vars = Vars {
        default_enis: 3,
        ips_per_eni: 10,
        max_pods: 29,
    };

    #[test]
    fn documented_examples() {
        // nodeadm/doc/examples.md "Defining a Max Pods Expression".
        assert_eq!(evaluate("max_pods + 2", M5), Ok(31));
        assert_eq!(evaluate("max_pods < 30 ? max_pods : 30", M5), Ok(29));
        assert_eq!(
            evaluate("((default_enis - 1) * (ips_per_eni - 1)) + 2", M5),
            Ok(20)
        );
        // amazon-eks-ami#2540.
        assert_eq!(evaluate("default_enis * (ips_per_eni - 1)", M5), Ok(27));
        // amazon-eks-ami#2580 (prefix delegation).
        assert_eq!(
            evaluate("((default_enis - 1) * (ips_per_eni - 1) * 16)", M5),
            Ok(288)
        );
    }

    #[test]
    fn precedence_and_refusals() {
        assert_eq!(evaluate("2 + 3 * 4", M5), Ok(14));
        assert_eq!(evaluate("(2 + 3) * 4", M5), Ok(20));
        assert_eq!(evaluate("10 - 4 - 3", M5), Ok(3));
        assert_eq!(
            evaluate("max_pods > 20 && max_pods < 40 ? 1 : 2", M5),
            Ok(1)
        );
        assert!(evaluate("math.least(max_pods, 20)", M5).is_err());
        assert!(evaluate("max_pods - 29", M5).is_err());
        assert!(evaluate("max_pods / 0", M5).is_err());
        assert!(evaluate("(max_pods", M5).is_err());
        assert!(evaluate("max_pods 3", M5).is_err());
        assert!(evaluate("max_pods > 3", M5).is_err());
        assert!(evaluate(&"(".repeat(500), M5).is_err());
        assert!(evaluate(&"-".repeat(5000), M5).is_err());
        assert!(evaluate("99999999999999999999999", M5).is_err());
    }
}
