//! `mp-tools code`: a Mini Program code (小程序码) written to a file as it downloads.
//!
//! `--scene` asks `wxa/getwxacodeunlimit` (unlimited in number; the page reads the scene from
//! `options.scene`), `--path` asks `wxa/getwxacode` (a page with its query; 100 000 codes per
//! app in all). The image is never held whole: each chunk goes to `FILE.part` as it arrives,
//! renamed to `FILE` once complete, so a broken download leaves no half code behind.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use tokio::io::AsyncWriteExt as _;
use wechat_tower::client::{
    EnvVersion, MAX_CODE_BYTES, UnlimitedCodeRequest, WechatClient, WxaCodeRequest, WxaCodeStream,
};

use crate::args::Args;

/// The longest the image may take to arrive once WeChat answered (the client's own time limit
/// covers the wait for the headers only).
const READ_LIMIT: Duration = Duration::from_secs(60);

/// What the code opens.
enum Target {
    /// `getwxacodeunlimit`: a scene, and the page (default: the home page).
    Scene { scene: String, page: Option<String> },
    /// `getwxacode`: a page with its query.
    Path(String),
}

/// The arguments of `mp-tools code`.
pub(crate) struct Code {
    target: Target,
    width: Option<u32>,
    env: Option<EnvVersion>,
    out: Option<PathBuf>,
}

impl Code {
    /// Reads `--scene`/`--page` or `--path`, `--width`, `--env`, `--out`.
    pub(crate) fn from_args(args: &mut Args) -> Result<Self, String> {
        let page = args.take("page");
        let target = match (args.take("scene"), args.take("path")) {
            (Some(scene), None) => Target::Scene { scene, page },
            (None, Some(path)) if page.is_none() => Target::Path(path),
            (None, Some(_)) => {
                return Err("--page goes with --scene; with --path the path is the page".into());
            }
            (Some(_), Some(_)) => return Err("give --scene or --path, not both".into()),
            (None, None) => return Err("--scene (or --path) is required".into()),
        };
        let env = match args.take("env").as_deref() {
            None => None,
            Some("release") => Some(EnvVersion::Release),
            Some("trial") => Some(EnvVersion::Trial),
            Some("develop") => Some(EnvVersion::Develop),
            Some(other) => {
                return Err(format!(
                    "--env: `{other}`; expected release, trial or develop"
                ));
            }
        };
        let out = args.take("out").map(PathBuf::from);
        if out.as_ref().is_some_and(|out| out.file_name().is_none()) {
            return Err("--out must name a file".into());
        }
        Ok(Self {
            target,
            width: args.parsed("width")?,
            env,
            out,
        })
    }

    /// Asks for the code and writes it, then prints the file, its size and its content type.
    pub(crate) async fn run(self, client: &WechatClient) -> Result<ExitCode, String> {
        let (endpoint, answer) = match self.target {
            Target::Scene { scene, page } => {
                let mut request = UnlimitedCodeRequest::new(scene).map_err(|e| e.to_string())?;
                if let Some(page) = page {
                    request = request.page(page);
                }
                if let Some(width) = self.width {
                    request = request.width(width);
                }
                if let Some(env) = self.env {
                    request = request.env_version(env);
                }
                let answer = client.wxacode().unlimited_stream(&request).await;
                ("wxa/getwxacodeunlimit", answer)
            }
            Target::Path(path) => {
                let mut request = WxaCodeRequest::new(path);
                if let Some(width) = self.width {
                    request = request.width(width);
                }
                if let Some(env) = self.env {
                    request = request.env_version(env);
                }
                let answer = client.wxacode().code_stream(&request).await;
                ("wxa/getwxacode", answer)
            }
        };
        let mut code = answer.map_err(|e| format!("{endpoint}: {e}"))?;
        let out = self
            .out
            .unwrap_or_else(|| PathBuf::from(default_file(&code.content_type)));
        let written = save(&mut code, &out).await?;
        println!("{}: {written} bytes, {}", out.display(), code.content_type);
        Ok(ExitCode::SUCCESS)
    }
}

/// `code.png`, `code.jpg`, …: what WeChat answered (`image/jpeg` for opaque codes, `image/png`
/// for transparent ones).
fn default_file(content_type: &str) -> String {
    let subtype = content_type
        .split(';')
        .next()
        .and_then(|ct| ct.trim().rsplit_once('/'))
        .map(|(_, sub)| sub.to_ascii_lowercase())
        .unwrap_or_default();
    let ext = match subtype.as_str() {
        "jpeg" | "jpg" => "jpg",
        "png" => "png",
        "gif" => "gif",
        _ => "img",
    };
    format!("code.{ext}")
}

/// Writes the image to `out` through `out.part`; answers its size.
async fn save(code: &mut WxaCodeStream, out: &Path) -> Result<u64, String> {
    if let Some(len) = code.content_length
        && len > MAX_CODE_BYTES as u64
    {
        return Err(format!(
            "WeChat announced {len} bytes, more than a code can be ({MAX_CODE_BYTES})"
        ));
    }
    let mut part = out.as_os_str().to_owned();
    part.push(".part");
    let part = PathBuf::from(part);
    let written = tokio::time::timeout(READ_LIMIT, write_chunks(code, &part))
        .await
        .unwrap_or_else(|_| {
            Err(format!(
                "the image did not arrive within {} s",
                READ_LIMIT.as_secs()
            ))
        });
    let renamed = match written {
        Ok(written) => tokio::fs::rename(&part, out)
            .await
            .map(|()| written)
            .map_err(|e| format!("{}: {e}", out.display())),
        Err(e) => Err(e),
    };
    if renamed.is_err() {
        let _ = tokio::fs::remove_file(&part).await;
    }
    renamed
}

/// The chunks of the image, each written as it arrives, at most [`MAX_CODE_BYTES`] in all.
async fn write_chunks(code: &mut WxaCodeStream, part: &Path) -> Result<u64, String> {
    let failed = |e: std::io::Error| format!("{}: {e}", part.display());
    let mut file = tokio::fs::File::create(part).await.map_err(failed)?;
    let mut written = 0u64;
    while let Some(chunk) = code.chunk().await {
        let chunk = chunk.map_err(|e| format!("reading the image: {e}"))?;
        written += chunk.len() as u64;
        if written > MAX_CODE_BYTES as u64 {
            return Err(format!(
                "the image is larger than a code can be ({MAX_CODE_BYTES} bytes)"
            ));
        }
        file.write_all(&chunk).await.map_err(failed)?;
    }
    file.flush().await.map_err(failed)?;
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_file_follows_the_content_type() {
        assert_eq!(default_file("image/png"), "code.png");
        assert_eq!(default_file("image/jpeg; charset=binary"), "code.jpg");
        assert_eq!(default_file("IMAGE/JPEG"), "code.jpg");
        assert_eq!(default_file("image/webp"), "code.img");
    }
}
