//! The peer in `papan bench fanout --server mosquitto`: a mosquitto broker in its own process, and
//! MQTT 3.1.1 connections (QoS 0) for the bench's screens and its publisher.

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;
use bytes::BytesMut;
use mqttbytes::QoS;
use mqttbytes::v4::{Connect, Packet, Publish, Subscribe};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::harness::KillOnDrop;

/// The topic every screen subscribes to.
pub(super) const TOPIC: &str = "papan/hall/events";
const MAX_PACKET: usize = 64 * 1024;

/// Starts mosquitto on a free loopback port, its config and log in `dir`.
pub(super) async fn start_mosquitto(dir: &Path) -> anyhow::Result<(KillOnDrop, SocketAddr)> {
    let binary = ["/usr/sbin/mosquitto", "/usr/bin/mosquitto"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .context("mosquitto is not installed (Debian: apt install mosquitto)")?;
    let addr = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
    let config = dir.join("mosquitto.conf");
    // No persistence and no auth: the broker's fastest set-up; connections unlimited like the hub's cap here.
    std::fs::write(
        &config,
        format!(
            "listener {} 127.0.0.1\nallow_anonymous true\nmax_connections -1\npersistence false\n\
             log_dest stderr\nlog_type error\nlog_type warning\n",
            addr.port()
        ),
    )?;
    let log = std::fs::File::create(dir.join("mosquitto.log"))?;
    let child = std::process::Command::new(binary)
        .arg("-c")
        .arg(&config)
        .stdout(std::process::Stdio::null())
        .stderr(log)
        .spawn()
        .with_context(|| format!("starting {binary}"))?;
    let child = KillOnDrop(child);
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(addr).await.is_err() {
        anyhow::ensure!(Instant::now() < deadline, "mosquitto did not listen on {addr} within 10 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok((child, addr))
}

/// One MQTT connection.
pub(super) struct Mqtt {
    stream: TcpStream,
    read: BytesMut,
    write: BytesMut,
}

impl Mqtt {
    /// Connects with a clean session and no keep-alive (a subscriber sends nothing while it listens).
    pub async fn connect(addr: SocketAddr, client_id: &str) -> anyhow::Result<Mqtt> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let mut mqtt = Mqtt { stream, read: BytesMut::with_capacity(8192), write: BytesMut::new() };
        let mut connect = Connect::new(client_id);
        connect.keep_alive = 0;
        connect.write(&mut mqtt.write).map_err(|e| anyhow::anyhow!("CONNECT: {e:?}"))?;
        mqtt.flush().await?;
        match mqtt.next_packet().await? {
            Packet::ConnAck(_) => Ok(mqtt),
            other => anyhow::bail!("expected CONNACK, got {other:?}"),
        }
    }

    /// Subscribes to [`TOPIC`] at QoS 0 and waits for the broker's SUBACK.
    pub async fn subscribe(&mut self) -> anyhow::Result<()> {
        let mut subscribe = Subscribe::new(TOPIC, QoS::AtMostOnce);
        subscribe.pkid = 1;
        subscribe.write(&mut self.write).map_err(|e| anyhow::anyhow!("SUBSCRIBE: {e:?}"))?;
        self.flush().await?;
        match self.next_packet().await? {
            Packet::SubAck(_) => Ok(()),
            other => anyhow::bail!("expected SUBACK, got {other:?}"),
        }
    }

    /// Publishes `payload` to [`TOPIC`] at QoS 0 (no acknowledgement exists at this level).
    pub async fn publish(&mut self, payload: &str) -> anyhow::Result<()> {
        Publish::new(TOPIC, QoS::AtMostOnce, payload.as_bytes())
            .write(&mut self.write)
            .map_err(|e| anyhow::anyhow!("PUBLISH: {e:?}"))?;
        self.flush().await
    }

    /// The payload of the next PUBLISH that arrives (None when the broker closes the connection).
    pub async fn next_payload(&mut self) -> anyhow::Result<Option<bytes::Bytes>> {
        loop {
            match self.next_packet().await {
                Ok(Packet::Publish(publish)) => return Ok(Some(publish.payload)),
                Ok(_) => {}
                Err(e) if e.is::<Closed>() => return Ok(None),
                Err(e) => return Err(e),
            }
        }
    }

    async fn flush(&mut self) -> anyhow::Result<()> {
        self.stream.write_all(&self.write).await?;
        self.write.clear();
        Ok(())
    }

    async fn next_packet(&mut self) -> anyhow::Result<Packet> {
        loop {
            match mqttbytes::v4::read(&mut self.read, MAX_PACKET) {
                Ok(packet) => return Ok(packet),
                Err(mqttbytes::Error::InsufficientBytes(_)) => {}
                Err(e) => anyhow::bail!("bad MQTT packet: {e:?}"),
            }
            if self.stream.read_buf(&mut self.read).await? == 0 {
                return Err(Closed.into());
            }
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("the broker closed the connection")]
struct Closed;
