//! A TCP proxy between a screen and its hub whose link a test can cut: a pulled cable (nothing
//! gets through, nobody is told) or a reset (every connection is refused at once).

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Link {
    /// Bytes flow both ways.
    Up,
    /// A pulled cable: connections stay open but carry nothing; new ones are accepted and hang.
    Cut,
    /// Every connection is reset and new ones are reset as they arrive.
    Reset,
}

pub struct Proxy {
    pub addr: SocketAddr,
    link: watch::Sender<Link>,
    task: tokio::task::JoinHandle<()>,
}

impl Proxy {
    pub async fn start(upstream: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (link, _) = watch::channel(Link::Up);
        let watcher = link.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else { return };
                tokio::spawn(carry(client, upstream, watcher.subscribe()));
            }
        });
        Proxy { addr, link, task }
    }

    pub fn set(&self, link: Link) {
        self.link.send_replace(link);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Closes with a TCP reset, as a peer that has forgotten the connection answers.
fn reset(stream: TcpStream) {
    let _ = stream.set_zero_linger();
    drop(stream);
}

/// One connection through the proxy, for as long as the link allows.
async fn carry(client: TcpStream, upstream: SocketAddr, mut link: watch::Receiver<Link>) {
    let state = *link.borrow_and_update();
    match state {
        Link::Reset => return reset(client),
        Link::Cut => {
            // Accepted, then silence: the WebSocket handshake never completes. The connection dies
            // with the cut; a client still holding it when the link returns gets a reset.
            let _ = link.wait_for(|l| *l != Link::Cut).await;
            return reset(client);
        }
        Link::Up => {}
    }
    let Ok(mut server) = TcpStream::connect(upstream).await else { return reset(client) };
    let mut client = client;
    let (mut from_client, mut to_client) = ([0u8; 16 * 1024], [0u8; 16 * 1024]);
    loop {
        tokio::select! {
            n = client.read(&mut from_client) => match n {
                Ok(n) if n > 0 => {
                    if server.write_all(&from_client[..n]).await.is_err() { return reset(client) }
                }
                _ => return reset(server),
            },
            n = server.read(&mut to_client) => match n {
                Ok(n) if n > 0 => {
                    if client.write_all(&to_client[..n]).await.is_err() { return reset(server) }
                }
                _ => return reset(client),
            },
            changed = link.changed() => {
                if changed.is_err() { return }
                let now = *link.borrow_and_update();
                match now {
                    Link::Up => {}
                    Link::Reset => {
                        reset(server);
                        return reset(client);
                    }
                    Link::Cut => {
                        // Both ends hold their sockets and hear nothing until each gives up;
                        // after the cut neither end is there for the other any more.
                        let _ = link.wait_for(|l| *l != Link::Cut).await;
                        reset(server);
                        return reset(client);
                    }
                }
            }
        }
    }
}
