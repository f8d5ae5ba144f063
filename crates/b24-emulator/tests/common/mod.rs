//! A bare HTTP client for driving the emulator over real HTTP.

#![allow(dead_code)]

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

pub struct Http {
    client: Client<HttpConnector, Full<Bytes>>,
}

pub struct Answer {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: Bytes,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

impl Http {
    pub fn new() -> Http {
        Http { client: Client::builder(TokioExecutor::new()).build_http() }
    }

    pub async fn send(
        &self,
        method: &str,
        url: &str,
        content_type: Option<&str>,
        body: Vec<u8>,
        extra: &[(&str, &str)],
    ) -> Result<Answer, String> {
        let mut builder = http::Request::builder().method(method).uri(url);
        if let Some(ct) = content_type {
            builder = builder.header("content-type", ct);
        }
        for (k, v) in extra {
            builder = builder.header(*k, *v);
        }
        let request = builder.body(Full::new(Bytes::from(body))).map_err(|e| e.to_string())?;
        let response = self.client.request(request).await.map_err(|e| format!("{e:?}"))?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.into_body().collect().await.map_err(|e| format!("body: {e:?}"))?.to_bytes();
        Ok(Answer { status, headers, body })
    }

    pub async fn json(&self, url: &str, body: &Value) -> Answer {
        self.send("POST", url, Some("application/json"), body.to_string().into_bytes(), &[]).await.expect("request")
    }

    pub async fn form(&self, url: &str, body: &str) -> Answer {
        self.send("POST", url, Some("application/x-www-form-urlencoded"), body.as_bytes().to_vec(), &[])
            .await
            .expect("request")
    }

    pub async fn get(&self, url: &str) -> Answer {
        self.send("GET", url, None, Vec::new(), &[]).await.expect("request")
    }
}
