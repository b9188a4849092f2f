//! The bound on spans waiting for export, and the count of those dropped at it.
//!
//! The SDK's batch processor has a bounded queue of its own, but counts what it drops only for
//! its internal log. So the daemon keeps its own count of spans between the end of a span and
//! the end of its export (queued, batched or on the wire): [`BoundedQueue`] admits a span only
//! while fewer than the limit wait, and [`Releasing`] lets them go when their export ends,
//! whether it succeeded, failed or timed out. Past the limit a span is dropped on the spot
//! (the router never waits) and counted in [`spans_dropped`].

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use opentelemetry::Context;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{Span, SpanData, SpanExporter, SpanProcessor};

static DROPPED: AtomicU64 = AtomicU64::new(0);

/// Spans dropped because too many were waiting for export, since the daemon started.
pub fn spans_dropped() -> u64 {
    DROPPED.load(Ordering::Relaxed)
}

/// The spans waiting for export, shared by the processor that admits them and the exporter
/// that lets them go.
#[derive(Debug)]
pub struct SpanQueue {
    waiting: Arc<AtomicUsize>,
    limit: usize,
}

impl SpanQueue {
    /// A queue of at most `limit` spans.
    pub fn new(limit: usize) -> Self {
        SpanQueue {
            waiting: Arc::new(AtomicUsize::new(0)),
            limit,
        }
    }

    /// `next`, releasing each batch's spans from the queue when its export ends.
    pub fn exporter<E>(&self, next: E) -> Releasing<E> {
        Releasing {
            next,
            waiting: Arc::clone(&self.waiting),
        }
    }

    /// `next`, handed only the spans the queue has room for.
    pub fn processor<P>(self, next: P) -> BoundedQueue<P> {
        BoundedQueue {
            next,
            waiting: self.waiting,
            limit: self.limit,
        }
    }
}

/// A span processor that drops (and counts) spans past the queue's limit.
#[derive(Debug)]
pub struct BoundedQueue<P> {
    next: P,
    waiting: Arc<AtomicUsize>,
    limit: usize,
}

impl<P: SpanProcessor> SpanProcessor for BoundedQueue<P> {
    fn on_start(&self, span: &mut Span, cx: &Context) {
        self.next.on_start(span, cx);
    }

    fn on_end(&self, span: SpanData) {
        if self.waiting.fetch_add(1, Ordering::AcqRel) >= self.limit {
            self.waiting.fetch_sub(1, Ordering::AcqRel);
            DROPPED.fetch_add(1, Ordering::Relaxed);
            return;
        }
        self.next.on_end(span);
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.next.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.next.shutdown_with_timeout(timeout)
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.next.set_resource(resource);
    }
}

/// A span exporter that releases each batch from the queue when its export ends.
#[derive(Debug)]
pub struct Releasing<E> {
    next: E,
    waiting: Arc<AtomicUsize>,
}

/// Releases `spans` from the queue when dropped: after the export, or with the export's
/// future when the processor gives up on it.
struct Release {
    waiting: Arc<AtomicUsize>,
    spans: usize,
}

impl Drop for Release {
    fn drop(&mut self) {
        self.waiting.fetch_sub(self.spans, Ordering::AcqRel);
    }
}

impl<E: SpanExporter> SpanExporter for Releasing<E> {
    fn export(
        &self,
        batch: Vec<SpanData>,
    ) -> impl std::future::Future<Output = OTelSdkResult> + Send {
        let release = Release {
            waiting: Arc::clone(&self.waiting),
            spans: batch.len(),
        };
        let export = self.next.export(batch);
        async move {
            let result = export.await;
            drop(release);
            result
        }
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.next.shutdown_with_timeout(timeout)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.next.force_flush()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.next.set_resource(resource);
    }
}

#[cfg(test)]
mod tests {
    use opentelemetry::trace::{Tracer, TracerProvider};
    use opentelemetry_sdk::runtime;
    use opentelemetry_sdk::trace::span_processor_with_async_runtime::BatchSpanProcessor;
    use opentelemetry_sdk::trace::{BatchConfigBuilder, SdkTracerProvider};

    use super::*;

    /// An exporter whose exports never end, like one stuck on an unreachable collector.
    #[derive(Debug)]
    struct Stuck;

    impl SpanExporter for Stuck {
        async fn export(&self, _batch: Vec<SpanData>) -> OTelSdkResult {
            std::future::pending().await
        }
    }

    #[test]
    fn spans_past_the_limit_are_dropped_and_counted_while_none_was_exported() {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("a runtime");
        let _inside = runtime.enter();
        let queue = SpanQueue::new(8);
        let waiting = Arc::clone(&queue.waiting);
        let exporter = queue.exporter(Stuck);
        // A short export timeout, so the shutdown at the end gives up on the stuck export soon.
        let processor = queue.processor(
            BatchSpanProcessor::builder(exporter, runtime::Tokio)
                .with_batch_config(
                    BatchConfigBuilder::default()
                        .with_max_export_timeout(Duration::from_millis(50))
                        .build(),
                )
                .build(),
        );
        let provider = SdkTracerProvider::builder()
            .with_span_processor(processor)
            .build();
        let tracer = provider.tracer("test");
        let before = spans_dropped();
        for _ in 0..20 {
            tracer.in_span("work", |_| {});
        }
        // Other tests in this binary record no spans through a bounded queue, so the count
        // moves only by this test's drops.
        assert_eq!(spans_dropped() - before, 12);
        assert_eq!(waiting.load(Ordering::Acquire), 8);
    }

    /// An exporter that accepts every batch at once.
    #[derive(Debug)]
    struct Accepting;

    impl SpanExporter for Accepting {
        async fn export(&self, _batch: Vec<SpanData>) -> OTelSdkResult {
            Ok(())
        }
    }

    #[test]
    fn a_finished_export_makes_room_again() {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("a runtime");
        let _inside = runtime.enter();
        let queue = SpanQueue::new(8);
        let waiting = Arc::clone(&queue.waiting);
        let exporter = queue.exporter(Accepting);
        let processor =
            queue.processor(BatchSpanProcessor::builder(exporter, runtime::Tokio).build());
        let provider = SdkTracerProvider::builder()
            .with_span_processor(processor)
            .build();
        let tracer = provider.tracer("test");
        for _ in 0..8 {
            tracer.in_span("work", |_| {});
        }
        assert_eq!(waiting.load(Ordering::Acquire), 8);
        provider.force_flush().expect("the export ends");
        assert_eq!(waiting.load(Ordering::Acquire), 0);
    }
}
