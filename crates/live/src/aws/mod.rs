//! AWS collection through aws-sdk-rust: EKS (with its version calendar), then EC2 for the cluster's
//! VPC and instance types, then IAM for the node roles and the
//! cilium-operator's IRSA role. Each call that is denied (or that the
//! endpoint does not implement) becomes a gap naming the IAM action, and
//! collection goes on; an unreachable endpoint ends the run.

mod ec2;
mod eks;
mod iam;

use std::collections::BTreeSet;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_smithy_http_client::tls;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeTransmitInterceptorContextRef, FinalizerInterceptorContextRef,
};
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::{HttpResponse, Metadata};
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_runtime_api::client::retries::RequestAttempts;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use doctor_core::snapshot::{AwsSource, GapKind};

use crate::deadline::{chain, one_line, Timeouts};
use crate::snapshot::Part;
use crate::{LiveError, Progress};

/// What to collect from AWS.
#[derive(Debug, Clone, Default)]
pub struct AwsOptions {
    /// The EKS cluster name (`--cluster`).
    pub cluster: String,
    pub profile: Option<String>,
    pub region: Option<String>,
}

/// What the Kubernetes side found that the AWS side must read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FromKubernetes {
    /// Instance types of the nodes (`node.kubernetes.io/instance-type`).
    pub instance_types: BTreeSet<String>,
    /// IAM role ARNs of interest (the cilium-operator's IRSA role).
    pub role_arns: BTreeSet<String>,
}

/// Error codes that mean "not allowed" across EKS, EC2 and IAM.
const DENIED_CODES: &[&str] = &[
    "AccessDenied",
    "AccessDeniedException",
    "UnauthorizedOperation",
    "UnauthorizedException",
];

/// Error codes of a 404 that names a missing resource (a real answer), as
/// opposed to an endpoint that does not implement the call.
const NOT_FOUND_CODES: &[&str] = &[
    "ResourceNotFoundException",
    "NoSuchEntity",
    "NotFoundException",
];

/// The SDK configuration: the usual credential and region chain (profile,
/// environment, SSO, IMDS), `AWS_ENDPOINT_URL`, and a rustls (ring) HTTPS
/// client, the TLS stack kube uses too (no aws-lc C build).
async fn sdk_config(options: &AwsOptions, timeouts: &Timeouts) -> Result<SdkConfig, LiveError> {
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https();
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .http_client(http)
        // Throttling and transient errors (a lone 500 too) are retried
        // with exponential backoff and jitter, a bounded number of times;
        // each attempt has the per-request timeout.
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(timeouts.attempts.max(1))
                .with_initial_backoff(Duration::from_millis(200)),
        )
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(timeouts.request.min(Duration::from_secs(5)))
                .read_timeout(timeouts.request)
                .operation_attempt_timeout(timeouts.request)
                .build(),
        );
    if let Some(profile) = &options.profile {
        loader = loader.profile_name(profile);
    }
    if let Some(region) = &options.region {
        loader = loader.region(Region::new(region.clone()));
    }
    let config = loader.load().await;
    if config.region().is_none() {
        return Err(LiveError::Config(
            "no AWS region: pass --region or set AWS_REGION (or a region in the profile)".into(),
        ));
    }
    Ok(config)
}

/// Tells [`Progress::retrying`] of each retry the SDK makes (its standard
/// retry strategy: throttling, 5xx, timeouts of a connection), with what
/// the attempt before it got.
#[derive(Clone)]
struct TellRetries {
    progress: Arc<dyn Progress>,
    attempts: u32,
    last: Arc<std::sync::Mutex<String>>,
}

impl std::fmt::Debug for TellRetries {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TellRetries")
    }
}

impl Intercept for TellRetries {
    fn name(&self) -> &'static str {
        "TellRetries"
    }

    fn read_after_attempt(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let why = match (context.response(), context.output_or_error()) {
            (Some(response), _) => format!("HTTP {}", response.status().as_u16()),
            (None, Some(Err(e))) => one_line(&chain(e), 160),
            (None, _) => "no answer".to_string(),
        };
        *self.last.lock().unwrap_or_else(|e| e.into_inner()) = why;
        Ok(())
    }

    fn read_before_attempt(
        &self,
        _: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let attempt = cfg.load::<RequestAttempts>().map_or(1, |a| a.attempts());
        if attempt > 1 {
            let call = cfg
                .load::<Metadata>()
                .map(|m| format!("{}:{}", m.service().to_ascii_lowercase(), m.name()))
                .unwrap_or_else(|| "AWS call".into());
            let why = self.last.lock().unwrap_or_else(|e| e.into_inner()).clone();
            self.progress.retrying(
                "aws",
                &call,
                &why,
                attempt - 1,
                self.attempts.saturating_sub(1),
                Duration::ZERO,
            );
        }
        Ok(())
    }
}

/// One AWS collection in progress: the clients and what they gathered.
pub(crate) struct Aws {
    eks: aws_sdk_eks::Client,
    ec2: aws_sdk_ec2::Client,
    iam: aws_sdk_iam::Client,
    part: Part,
}

impl Aws {
    /// Run one call; a denied or unimplemented call is recorded as a gap
    /// (`None`), anything else that fails ends the collection.
    async fn call<T, E>(
        &mut self,
        action: &'static str,
        call: impl Future<Output = Result<T, SdkError<E, HttpResponse>>>,
    ) -> Result<Option<T>, LiveError>
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        match call.await {
            Ok(output) => Ok(Some(output)),
            Err(err) => {
                let (kind, message) = classify(action, err)?;
                self.part.gap(action, kind, action, &message);
                Ok(None)
            }
        }
    }
}

/// A gap, or the error that ends the run.
fn classify<E>(action: &str, err: SdkError<E, HttpResponse>) -> Result<(GapKind, String), LiveError>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    if let SdkError::ServiceError(ctx) = &err {
        let status = ctx.raw().status().as_u16();
        let code = ctx.err().code().unwrap_or("");
        let message = ctx.err().message().unwrap_or(code).to_string();
        // A 403 with another code (SignatureDoesNotMatch, InvalidClientTokenId,
        // ExpiredToken) is about the credentials, not one permission.
        if DENIED_CODES.contains(&code) || (status == 403 && code.is_empty()) {
            return Ok((GapKind::Denied, message));
        }
        if status == 404 && !NOT_FOUND_CODES.contains(&code) {
            return Ok((GapKind::Unsupported, format!("HTTP 404 {message}")));
        }
    }
    Err(LiveError::Aws {
        action: action.to_string(),
        message: describe(action, &err),
    })
}

/// One line: the status and code, a timeout, or the transport error, and
/// what to check.
fn describe<E>(action: &str, err: &SdkError<E, HttpResponse>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match err {
        SdkError::ServiceError(ctx) => {
            let status = ctx.raw().status().as_u16();
            let code = ctx.err().code().unwrap_or("");
            let message = one_line(ctx.err().message().unwrap_or(""), 200);
            let hint = match status {
                401 | 403 => "check the AWS credentials (profile, role, session expiry)".into(),
                429 => "AWS is throttling this account: retry later".to_string(),
                s if s >= 500 => "the endpoint failed: retry later".into(),
                _ => format!(
                    "check that {action} is allowed and the cluster name and region are right"
                ),
            };
            format!("HTTP {status} {code}: {message}; {hint}")
        }
        SdkError::TimeoutError(_) => format!(
            "no answer within the request timeout (--request-timeout); check that the AWS \
             endpoint is reachable ({})",
            std::env::var("AWS_ENDPOINT_URL").unwrap_or_else(|_| "the region's endpoint".into())
        ),
        SdkError::DispatchFailure(_) => {
            let why = one_line(&chain(err), 240);
            if why.contains("credentials") {
                format!("{why}; check the AWS credentials (profile, environment, SSO session, instance role)")
            } else {
                format!("cannot reach the endpoint: {why}; check the network and AWS_ENDPOINT_URL")
            }
        }
        _ => one_line(&chain(err), 300),
    }
}

/// `arn:aws:eks:REGION:ACCOUNT:cluster/NAME` → ACCOUNT.
fn account_of(arn: &str) -> Option<String> {
    arn.split(':')
        .nth(4)
        .filter(|a| !a.is_empty())
        .map(str::to_string)
}

/// Collect everything AWS holds about the cluster.
pub async fn collect(
    options: &AwsOptions,
    from_kubernetes: &FromKubernetes,
    timeouts: &Timeouts,
    progress: Arc<dyn Progress>,
) -> Result<(Part, AwsSource), LiveError> {
    let config = sdk_config(options, timeouts).await?;
    let mut source = AwsSource {
        region: config.region().map(|r| r.to_string()).unwrap_or_default(),
        profile: options.profile.clone(),
        account: None,
        cluster: options.cluster.clone(),
        endpoint: std::env::var("AWS_ENDPOINT_URL")
            .ok()
            .filter(|e| !e.is_empty()),
    };
    let tell = TellRetries {
        progress: progress.clone(),
        attempts: timeouts.attempts.max(1),
        last: Arc::default(),
    };
    let mut aws = Aws {
        eks: aws_sdk_eks::Client::from_conf(
            aws_sdk_eks::config::Builder::from(&config)
                .interceptor(tell.clone())
                .build(),
        ),
        ec2: aws_sdk_ec2::Client::from_conf(
            aws_sdk_ec2::config::Builder::from(&config)
                .interceptor(tell.clone())
                .build(),
        ),
        iam: aws_sdk_iam::Client::from_conf(
            aws_sdk_iam::config::Builder::from(&config)
                .interceptor(tell)
                .build(),
        ),
        part: Part::new("aws", progress),
    };
    let cluster = aws.describe_cluster(&options.cluster).await?;
    source.account = cluster
        .as_ref()
        .and_then(|c| c.arn.as_deref())
        .and_then(account_of);
    aws.cluster_versions().await?;
    aws.addons(&options.cluster).await?;
    let nodegroups = aws.nodegroups(&options.cluster).await?;
    aws.insights(&options.cluster).await?;
    aws.launch_templates(&nodegroups).await?;

    let vpc_config = cluster.map(|c| c.resources_vpc_config).unwrap_or_default();
    let vpc = match vpc_config.vpc_id {
        Some(vpc) => Some(vpc),
        None => aws.vpc_of_subnets(&vpc_config.subnet_ids).await?,
    };
    if let Some(vpc) = vpc {
        aws.vpc(&vpc).await?;
        aws.enis_and_instances(&vpc).await?;
    }
    let types: BTreeSet<String> = nodegroups
        .iter()
        .flat_map(|n| n.instance_types.iter().cloned())
        .chain(from_kubernetes.instance_types.iter().cloned())
        .collect();
    aws.instance_types(&types).await?;

    let roles: BTreeSet<String> = nodegroups
        .iter()
        .filter_map(|n| n.node_role.clone())
        .chain(from_kubernetes.role_arns.iter().cloned())
        .filter_map(|arn| iam::role_name(&arn).map(str::to_string))
        .collect();
    aws.roles(&roles).await?;
    aws.oidc_providers().await?;
    Ok((aws.part, source))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_from_cluster_arn() {
        assert_eq!(
            account_of("arn:aws:eks:eu-west-1:123456789012:cluster/shop").as_deref(),
            Some("123456789012")
        );
        assert_eq!(account_of("nonsense"), None);
    }
}
