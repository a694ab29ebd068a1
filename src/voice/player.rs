//! The announcement player: rodio on its own thread. Announcements queue FIFO and each plays
//! whole; repeats of the same call within a window are merged; stale ones are dropped after an
//! outage; a missing or lost audio device is retried while the rest of papan keeps running.
//! The thread sleeps until something happens (a request, the end of an announcement, a device
//! retry): a screen at rest wakes it never, instead of 200 times a second.

use std::collections::VecDeque;
use std::num::NonZero;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rodio::Source;
use rodio::buffer::SamplesBuffer;

use crate::protocol::Seq;

/// Settings of the player thread.
#[derive(Debug, Clone)]
pub struct PlayerOptions {
    /// Sample rate of the clips (the pack's rate); the device is opened at it.
    pub rate: u32,
    /// The same call queued again within this window is merged into the first.
    pub merge_window: Duration,
    /// Announcements older than this when their turn comes are dropped (e.g. after an outage).
    pub stale_after: Duration,
    /// How often to try the audio device again while there is none.
    pub retry_every: Duration,
    /// Silence between two announcements that follow each other.
    pub between: Duration,
}

impl Default for PlayerOptions {
    fn default() -> Self {
        PlayerOptions {
            rate: 48_000,
            merge_window: Duration::from_secs(10),
            stale_after: Duration::from_secs(60),
            retry_every: Duration::from_secs(5),
            between: Duration::from_millis(400),
        }
    }
}

/// One announcement to play.
#[derive(Debug, Clone)]
pub struct Queued {
    pub seq: Seq,
    /// Identity for merging, e.g. `call A-001 4 disdukcapil`.
    pub key: String,
    pub samples: Arc<[i16]>,
    pub queued_at: Instant,
}

/// What the player reports (to the display, the demo, tests).
#[derive(Debug, Clone, PartialEq)]
pub enum PlayerEvent {
    /// The first sample of this announcement was handed to the audio device.
    Started {
        seq: Seq,
        at: Instant,
    },
    Finished {
        seq: Seq,
    },
    /// Not played: the same call was already queued or playing.
    Merged {
        seq: Seq,
        into: Seq,
    },
    /// Not played: too old by the time the device could play it.
    Dropped {
        seq: Seq,
        waited: Duration,
    },
    DeviceReady,
    DeviceUnavailable(String),
}

enum Request {
    Enqueue(Queued),
    Options(PlayerOptions),
    DeviceError(String),
    /// The device pulled the last sample of this announcement.
    Ended(Seq),
    /// Stop; with `drain`, after everything queued has played.
    Shutdown {
        drain: bool,
    },
}

/// Handle to the player thread.
pub struct AudioPlayer {
    tx: mpsc::Sender<Request>,
    thread: Option<JoinHandle<()>>,
}

/// Announcements that may wait at once: about two minutes of speech. A longer backlog (calls far
/// faster than they can be spoken, or no device for a while) drops its oldest, which would be
/// stale by its turn anyway; this keeps the player's memory bounded.
pub const MAX_WAITING: usize = 24;

impl AudioPlayer {
    /// Starts the thread; it reports on `events`.
    pub fn spawn(options: PlayerOptions, events: mpsc::Sender<PlayerEvent>) -> AudioPlayer {
        let (tx, rx) = mpsc::channel();
        let from_device = tx.clone();
        let thread = std::thread::Builder::new()
            .name("papan-audio".into())
            .spawn(move || Worker::new(options, events, from_device).run(rx))
            .expect("spawning the audio thread");
        AudioPlayer { tx, thread: Some(thread) }
    }

    pub fn enqueue(&self, queued: Queued) {
        let _ = self.tx.send(Request::Enqueue(queued));
    }

    /// New limits (the hall file changed); the sample rate stays that of the open device.
    pub fn set_options(&self, options: PlayerOptions) {
        let _ = self.tx.send(Request::Options(options));
    }

    /// Plays what is queued (or gives up on it when there is no device) and stops.
    pub fn finish(mut self) {
        self.stop(true);
    }

    fn stop(&mut self, drain: bool) {
        let _ = self.tx.send(Request::Shutdown { drain });
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for AudioPlayer {
    fn drop(&mut self) {
        self.stop(false);
    }
}

/// An open device: dropping the sink silences everything, so both live together.
struct Output {
    _sink: rodio::MixerDeviceSink,
    player: rodio::Player,
}

struct Worker {
    options: PlayerOptions,
    events: mpsc::Sender<PlayerEvent>,
    /// The device's callbacks (errors, an announcement's end) talk to the thread through this.
    from_device: mpsc::Sender<Request>,
    output: Option<Output>,
    next_try: Instant,
    /// The last device problem reported, so a missing device is logged once, not every retry.
    last_problem: Option<String>,
    queue: VecDeque<Queued>,
    playing: Option<Queued>,
    last_finished: Option<Instant>,
}

impl Worker {
    fn new(
        options: PlayerOptions,
        events: mpsc::Sender<PlayerEvent>,
        from_device: mpsc::Sender<Request>,
    ) -> Worker {
        Worker {
            options,
            events,
            from_device,
            output: None,
            next_try: Instant::now(),
            last_problem: None,
            queue: VecDeque::new(),
            playing: None,
            last_finished: None,
        }
    }

    fn run(&mut self, rx: mpsc::Receiver<Request>) {
        let mut draining = false;
        loop {
            let request = match self.next_device_try() {
                Some(wait) => rx.recv_timeout(wait),
                None => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
            };
            match request {
                Ok(Request::Enqueue(queued)) => self.enqueue(queued),
                Ok(Request::Options(options)) => {
                    self.options = PlayerOptions { rate: self.options.rate, ..options };
                }
                Ok(Request::DeviceError(e)) => self.lose_device(e),
                Ok(Request::Ended(seq)) => self.finish_playing(seq),
                Ok(Request::Shutdown { drain: false }) | Err(RecvTimeoutError::Disconnected) => return,
                Ok(Request::Shutdown { drain: true }) => draining = true,
                Err(RecvTimeoutError::Timeout) => {}
            }
            self.ensure_device();
            self.advance();
            let idle = self.playing.is_none() && self.queue.is_empty();
            if draining && (idle || self.output.is_none()) {
                return;
            }
        }
    }

    /// How long until the device is tried again; `None` while it is open (then only a request or
    /// an announcement's end can change anything).
    fn next_device_try(&self) -> Option<Duration> {
        match self.output {
            Some(_) => None,
            None => Some(self.next_try.saturating_duration_since(Instant::now())),
        }
    }

    /// The announcement `seq` has been pulled whole by the device.
    fn finish_playing(&mut self, seq: Seq) {
        // An end from a device lost meanwhile is old news: that announcement was queued again.
        if let Some(done) = self.playing.take_if(|playing| playing.seq == seq) {
            let _ = self.events.send(PlayerEvent::Finished { seq: done.seq });
            self.last_finished = Some(Instant::now());
        }
    }

    fn enqueue(&mut self, queued: Queued) {
        let window = self.options.merge_window;
        let earlier = self.playing.iter().chain(self.queue.iter()).find(|q| {
            q.key == queued.key && queued.queued_at.saturating_duration_since(q.queued_at) < window
        });
        if let Some(earlier) = earlier {
            tracing::info!(seq = queued.seq, into = earlier.seq, key = queued.key, "announcement merged");
            let _ = self.events.send(PlayerEvent::Merged { seq: queued.seq, into: earlier.seq });
        } else {
            self.queue.push_back(queued);
        }
        while self.queue.len() > MAX_WAITING {
            let Some(oldest) = self.queue.pop_front() else { break };
            self.give_up(&oldest, oldest.queued_at.elapsed(), "announcement backlog full; oldest dropped");
        }
    }

    /// Drops an announcement unplayed and reports it.
    fn give_up(&self, queued: &Queued, waited: Duration, why: &str) {
        tracing::info!(seq = queued.seq, ?waited, "{why}");
        let _ = self.events.send(PlayerEvent::Dropped { seq: queued.seq, waited });
    }

    fn lose_device(&mut self, error: String) {
        if self.output.take().is_some() {
            tracing::warn!("audio device lost: {error}; retrying every {:?}", self.options.retry_every);
        }
        // What was playing is played again from the start once a device is back (unless stale).
        if let Some(playing) = self.playing.take() {
            self.queue.push_front(playing);
        }
        self.next_try = Instant::now() + self.options.retry_every;
        self.report_problem(error);
    }

    fn report_problem(&mut self, problem: String) {
        if self.last_problem.as_ref() != Some(&problem) {
            tracing::warn!("no audio output: {problem}; the board keeps running, announcements wait");
            let _ = self.events.send(PlayerEvent::DeviceUnavailable(problem.clone()));
            self.last_problem = Some(problem);
        }
    }

    fn ensure_device(&mut self) {
        if self.output.is_some() || Instant::now() < self.next_try {
            return;
        }
        match self.open() {
            Ok(output) => {
                tracing::info!("audio device ready");
                self.output = Some(output);
                self.last_problem = None;
                let _ = self.events.send(PlayerEvent::DeviceReady);
            }
            Err(problem) => {
                self.next_try = Instant::now() + self.options.retry_every;
                self.report_problem(problem);
            }
        }
    }

    /// Opens the default device at the clips' rate, mono, 16-bit (the clips' own format, so
    /// nothing is resampled or requantised); falls back to the device's sample format.
    fn open(&self) -> Result<Output, String> {
        match self.open_with(Some(rodio::cpal::SampleFormat::I16)) {
            Ok(output) => Ok(output),
            Err(_) => self.open_with(None),
        }
    }

    fn open_with(&self, format: Option<rodio::cpal::SampleFormat>) -> Result<Output, String> {
        let errors = Mutex::new(self.from_device.clone());
        let rate = NonZero::new(self.options.rate).ok_or("sample rate 0")?;
        let mut builder = rodio::DeviceSinkBuilder::from_default_device()
            .map_err(|e| e.to_string())?
            .with_sample_rate(rate)
            .with_channels(NonZero::new(1).expect("1 is not zero"));
        if let Some(format) = format {
            builder = builder.with_sample_format(format);
        }
        let mut sink = builder
            .with_error_callback(move |e| {
                if let Ok(tx) = errors.lock() {
                    let _ = tx.send(Request::DeviceError(e.to_string()));
                }
            })
            .open_stream()
            .map_err(|e| e.to_string())?;
        sink.log_on_drop(false);
        let player = rodio::Player::connect_new(sink.mixer());
        Ok(Output { _sink: sink, player })
    }

    /// Starts the next announcement when none is playing.
    fn advance(&mut self) {
        let Some(output) = &self.output else { return };
        if self.playing.is_some() {
            return;
        }
        while let Some(next) = self.queue.pop_front() {
            let waited = next.queued_at.elapsed();
            if waited > self.options.stale_after {
                self.give_up(&next, waited, "stale announcement dropped");
                continue;
            }
            output.player.append(self.source_for(&next));
            self.playing = Some(next);
            break;
        }
    }

    /// The announcement as a rodio source, with the pause after the previous one in front and a
    /// report when its first sample is pulled by the device.
    fn source_for(&self, queued: &Queued) -> impl Source + Send + 'static {
        let rate = self.options.rate;
        let pause = self
            .last_finished
            .map(|at| self.options.between.saturating_sub(at.elapsed()))
            .unwrap_or_default();
        let lead = (pause.as_secs_f64() * f64::from(rate)) as usize;
        let samples: Vec<f32> = std::iter::repeat_n(0.0, lead)
            .chain(queued.samples.iter().map(|&s| f32::from(s) / 32768.0))
            .collect();
        let buffer = SamplesBuffer::new(
            NonZero::new(1).expect("1 is not zero"),
            NonZero::new(rate).expect("checked when the device opened"),
            samples,
        );
        StartSignal {
            inner: buffer,
            lead,
            seq: queued.seq,
            events: Some(self.events.clone()),
            ended: Some(self.from_device.clone()),
        }
    }
}

/// Reports `Started` when the first sample after the lead-in silence is pulled, and tells the
/// player thread when the last one was.
struct StartSignal<S> {
    inner: S,
    lead: usize,
    seq: Seq,
    events: Option<mpsc::Sender<PlayerEvent>>,
    ended: Option<mpsc::Sender<Request>>,
}

impl<S: Source> Iterator for StartSignal<S> {
    type Item = rodio::Sample;

    fn next(&mut self) -> Option<Self::Item> {
        if self.lead == 0 {
            if let Some(events) = self.events.take() {
                let _ = events.send(PlayerEvent::Started { seq: self.seq, at: Instant::now() });
            }
        } else {
            self.lead -= 1;
        }
        let sample = self.inner.next();
        if sample.is_none()
            && let Some(ended) = self.ended.take()
        {
            let _ = ended.send(Request::Ended(self.seq));
        }
        sample
    }
}

impl<S: Source> Source for StartSignal<S> {
    fn current_span_len(&self) -> Option<usize> {
        self.inner.current_span_len()
    }

    fn channels(&self) -> rodio::ChannelCount {
        self.inner.channels()
    }

    fn sample_rate(&self) -> rodio::SampleRate {
        self.inner.sample_rate()
    }

    fn total_duration(&self) -> Option<Duration> {
        self.inner.total_duration()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The queue without a device (none is opened until the thread runs).
    fn worker() -> (Worker, mpsc::Receiver<PlayerEvent>) {
        let (events, rx) = mpsc::channel();
        let (from_device, _) = mpsc::channel();
        (Worker::new(PlayerOptions::default(), events, from_device), rx)
    }

    fn queued(seq: Seq) -> Queued {
        Queued {
            seq,
            key: format!("call A-{seq:03} 1"),
            samples: vec![1i16; 48_000].into(),
            queued_at: Instant::now(),
        }
    }

    #[test]
    fn a_backlog_keeps_the_newest_and_drops_the_oldest() {
        let (mut worker, events) = worker();
        let calls = MAX_WAITING as Seq + 10;
        for seq in 1..=calls {
            worker.enqueue(queued(seq));
        }
        assert_eq!(worker.queue.len(), MAX_WAITING);
        assert_eq!(worker.queue.front().map(|q| q.seq), Some(11), "the ten oldest went");
        assert_eq!(worker.queue.back().map(|q| q.seq), Some(calls));
        let dropped: Vec<Seq> = events
            .try_iter()
            .filter_map(|e| match e {
                PlayerEvent::Dropped { seq, .. } => Some(seq),
                _ => None,
            })
            .collect();
        assert_eq!(dropped, (1..=10).collect::<Vec<_>>(), "each drop is reported");
    }
}
