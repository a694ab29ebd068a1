//! `papan voice`, `papan layout` and `papan bench fanout`/`display` through the real binary, with the committed
//! clip pack and layouts.

mod common;

use std::path::Path;
use std::process::Command;

use papan::hall::{Hall, Language};
use papan::protocol::{Call, Event};
use papan::voice::pack::{DEFAULT_PACK_DIR, Pack, Packs};
use papan::voice::script::{Said, script};

fn papan(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_papan"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap()
}

/// The clips of "A-123 to counter 4" (Disdukcapil), as `papan voice say A-123 --counter 4` says it.
fn a123_to_counter_4(hall: &Hall) -> Vec<Said> {
    let call = Call {
        ticket: "A-123".parse().unwrap(),
        counter: 4,
        agency: "disdukcapil".into(),
        service: None,
        priority: None,
    };
    script(hall, &Event::Call(call)).unwrap()
}

fn pack_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(DEFAULT_PACK_DIR)
}

#[test]
fn default_pack_covers_the_builtin_hall() {
    let out = papan(&["voice", "check"]);
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let pack = Pack::load(&pack_dir()).unwrap();
    assert_eq!(pack.rate(), 48_000);
    assert!(pack.broken.is_empty(), "{:?}", pack.broken);
}

#[test]
fn voice_say_renders_clips_and_exact_gaps() {
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("a123.wav");
    let out = papan(&["voice", "say", "A-123", "--counter", "4", "--out", wav.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let hall = Hall::builtin();
    let parts = a123_to_counter_4(&hall);
    assert_eq!(parts.len(), 1, "one language, said once");
    let tokens = &parts[0].tokens;
    let pack = Pack::load(&pack_dir()).unwrap();
    let clip_samples: usize = tokens.iter().map(|t| pack.clips[t].len()).sum();
    let gap_samples = (tokens.len() - 1) * (hall.voice.gap_ms as usize * 48);
    let expected_ms = (clip_samples + gap_samples) as f64 / 48.0;

    let mut reader = hound::WavReader::open(&wav).unwrap();
    let spec = reader.spec();
    assert_eq!((spec.channels, spec.sample_rate, spec.bits_per_sample), (1, 48_000, 16));
    let samples: Vec<i16> = reader.samples::<i16>().map(Result::unwrap).collect();
    let actual_ms = samples.len() as f64 / 48.0;
    assert!((actual_ms - expected_ms).abs() < 1.0, "{actual_ms} ms vs {expected_ms} ms");
    let loud = samples.iter().filter(|s| s.unsigned_abs() > 3000).count();
    assert!(
        loud > samples.len() / 20,
        "the announcement is audible: {loud} loud samples of {}",
        samples.len()
    );
}

#[test]
fn voice_check_finds_removed_clips() {
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(pack_dir()).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, dir.path().join(path.file_name().unwrap())).unwrap();
    }
    // One clip file deleted, one entry removed from the manifest.
    std::fs::remove_file(dir.path().join("lima.wav")).unwrap();
    let manifest = std::fs::read_to_string(dir.path().join("pack.toml")).unwrap();
    let manifest: String =
        manifest.lines().filter(|l| !l.starts_with("sebelas =")).map(|l| format!("{l}\n")).collect();
    std::fs::write(dir.path().join("pack.toml"), manifest).unwrap();

    let out = papan(&["voice", "check", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("missing: sebelas"), "{stdout}");
    assert!(stdout.contains("broken:  lima:"), "{stdout}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("lacks 1 and cannot decode 1"));

    // Rendering still works without them: the missing clip is skipped with a warning.
    let wav = dir.path().join("out.wav");
    let args = ["voice", "say", "B-11", "--counter", "5", "--pack", dir.path().to_str().unwrap(), "--out"];
    let out = papan(&[&args[..], &[wav.to_str().unwrap()]].concat());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("no usable clip \"sebelas\""), "{stderr}");
}

/// A hall's recording session becomes a pack: the shipped clips as a facility team would hand
/// them over (FLAC and Ogg at 44.1 kHz stereo, MP3, WAV at 22.05 kHz), each 0 to 12 dB quieter
/// than the next, with silence around it, plus a misspelt file and a note. `papan voice pack
/// build` brings every clip to the target, `voice check` passes, and an announcement from the
/// new pack reaches the ALSA file device whole.
#[test]
fn recordings_in_mixed_formats_become_a_loudness_matched_pack() {
    let raw = tempfile::tempdir().unwrap();
    let shipped = Pack::load(&pack_dir()).unwrap();
    let tokens: Vec<&String> = shipped.manifest.clips.keys().filter(|t| *t != "chime").collect();
    let run = |program: &str, args: &[&str]| {
        let out = Command::new(program).args(args).output().unwrap_or_else(|e| panic!("{program}: {e}"));
        assert!(out.status.success(), "{program} {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    for (i, token) in tokens.iter().enumerate() {
        let source = pack_dir().join(format!("{token}.wav"));
        let source = source.to_str().unwrap();
        let gain = ["-12", "0", "-7", "-3"][i % 4];
        let file = |ending: &str| raw.path().join(format!("{token}.{ending}")).to_str().unwrap().to_string();
        let effects = ["gain", gain, "pad", "0.4", "0.3"];
        match i % 4 {
            0 => run("sox", &[&[source, "-r", "44100", "-c", "2", &file("flac")][..], &effects].concat()),
            1 => {
                let wav = raw.path().join(format!("{token}.tmp")).to_str().unwrap().to_string();
                run("sox", &[&[source, "-r", "44100", "-c", "2", "-t", "wav", &wav][..], &effects].concat());
                run("lame", &["--quiet", "-b", "160", &wav, &file("mp3")]);
                std::fs::remove_file(&wav).unwrap();
            }
            2 => run("sox", &[&[source, "-r", "44100", "-c", "2", &file("ogg")][..], &effects].concat()),
            _ => run("sox", &[&[source, "-r", "22050", &file("wav")][..], &effects].concat()),
        }
    }
    std::fs::copy(pack_dir().join("sepuluh.wav"), raw.path().join("sepulu.wav")).unwrap();
    std::fs::write(raw.path().join("catatan.txt"), "rekam ulang: dua").unwrap();

    let out_dir = raw.path().join("pack");
    let out_dir = out_dir.to_str().unwrap();
    let out =
        papan(&["voice", "pack", "build", raw.path().to_str().unwrap(), out_dir, "--name", "Rekaman uji"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}");
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("sepulu.wav is no clip"), "{stdout}");
    assert!(stdout.contains("catatan.txt is not a recording"), "{stdout}");
    assert!(stdout.lines().any(|l| l.starts_with("seratus ")), "a row per clip: {stdout}");

    let built = Pack::load(Path::new(out_dir)).unwrap();
    assert!(built.broken.is_empty(), "{:?}", built.broken);
    let levels = built.levels(Language::Id);
    for token in &tokens {
        let lufs = levels.levels[token.as_str()].loudness_lufs.unwrap();
        assert!((lufs - -20.0).abs() <= 0.5, "{token} at {lufs} LUFS");
    }
    let spread = levels.number_spread.unwrap();
    assert!(spread.lu <= 1.0, "number words within 1 LU after the build: {spread:?}");
    let check = papan(&["voice", "check", out_dir]);
    let check_out = String::from_utf8_lossy(&check.stdout);
    assert!(check.status.success() && !check_out.contains("warning"), "{check_out}");

    // Played from the new pack, the device gets the announcement bit for bit.
    let home = tempfile::tempdir().unwrap();
    let capture = home.path().join("say.raw");
    common::write_asoundrc(home.path(), &capture);
    let out = Command::new(env!("CARGO_BIN_EXE_papan"))
        .args(["voice", "say", "A-123", "--counter", "4", "--pack", out_dir, "--play"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("HOME", home.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let hall = Hall::builtin();
    let spoken = a123_to_counter_4(&hall);
    let built = Packs::new(built, []);
    let expected = papan::voice::render::render(&spoken, &built, hall.voice.gap_ms, hall.voice.repeat_gap_ms);
    assert!(expected.skipped.is_empty(), "{:?}", expected.skipped);
    let captured = common::read_capture(&capture);
    assert!(
        common::find(&captured, &expected.samples, 0).is_some(),
        "the capture holds the announcement whole"
    );
}

/// A hall whose Imigrasi calls in Indonesian and English: the shipped English pack covers it
/// (`voice check` checks both packs), and `voice say --play` hands the device both languages in
/// one announcement, Indonesian first, bit for bit.
#[test]
fn a_second_language_is_checked_and_said_after_the_first() {
    let dir = tempfile::tempdir().unwrap();
    let hall_file = dir.path().join("hall.toml");
    let source = papan::hall::DEFAULT_HALL_TOML
        .replace("id = \"imigrasi\"", "id = \"imigrasi\"\nlanguages = [\"id\", \"en\"]");
    std::fs::write(&hall_file, &source).unwrap();
    let hall_arg = hall_file.to_str().unwrap();

    let check = papan(&["voice", "check", "--hall", hall_arg]);
    let stdout = String::from_utf8_lossy(&check.stdout);
    assert!(check.status.success(), "{stdout}{}", String::from_utf8_lossy(&check.stderr));
    assert!(stdout.contains("language en") && stdout.contains("needs in en"), "{stdout}");
    assert!(!stdout.contains("warning"), "the English number words are loudness-matched too: {stdout}");

    let listed = papan(&["voice", "script", "--hall", hall_arg, "--language", "en"]);
    let listed = String::from_utf8_lossy(&listed.stdout);
    assert!(listed.contains("ticket_number") && listed.contains("(\"ess\")"), "{listed}");

    let home = tempfile::tempdir().unwrap();
    let capture = home.path().join("say.raw");
    common::write_asoundrc(home.path(), &capture);
    let out = Command::new(env!("CARGO_BIN_EXE_papan"))
        .args(["voice", "say", "S-123", "--counter", "29", "--hall", hall_arg, "--play"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("HOME", home.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        stdout.contains("| ticket_number s one hundred twenty three please_proceed_to loket twenty nine"),
        "{stdout}"
    );

    let hall = Hall::parse("hall.toml", &source).unwrap();
    let call = Call {
        ticket: "S-123".parse().unwrap(),
        counter: 29,
        agency: "imigrasi".into(),
        service: None,
        priority: None,
    };
    let parts = script(&hall, &Event::Call(call)).unwrap();
    let packs = Packs::new(Pack::load(&pack_dir()).unwrap(), hall.languages_spoken());
    let whole = papan::voice::render::render(&parts, &packs, hall.voice.gap_ms, hall.voice.repeat_gap_ms);
    assert!(whole.skipped.is_empty(), "{:?}", whole.skipped);
    let english_only =
        papan::voice::render::render(&parts[1..], &packs, hall.voice.gap_ms, hall.voice.repeat_gap_ms);
    let indonesian_only =
        papan::voice::render::render(&parts[..1], &packs, hall.voice.gap_ms, hall.voice.repeat_gap_ms);
    let captured = common::read_capture(&capture);
    let at = common::find(&captured, &whole.samples, 0).expect("the capture holds both languages whole");
    // Indonesian first, then the pause between repeats, then English.
    let pause = hall.voice.repeat_gap_ms as usize * 48;
    assert_eq!(&captured[at..at + indonesian_only.samples.len()], &indonesian_only.samples[..]);
    let english_at = at + indonesian_only.samples.len() + pause;
    assert_eq!(&captured[english_at..english_at + english_only.samples.len()], &english_only.samples[..]);
}

#[test]
fn layout_check_passes_shipped_layouts_and_reports_cuts_and_positions() {
    for (layout, size) in
        [("hall-landscape", "1920x1080"), ("agency-wall", "3840x2160"), ("counter-portrait", "1080x1920")]
    {
        let out = papan(&["layout", "check", &format!("assets/layouts/{layout}.toml"), "--size", size]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{layout}: {stdout}{}", String::from_utf8_lossy(&out.stderr));
        assert!(stdout.contains("0 are cut"), "{stdout}");
    }

    let dir = tempfile::tempdir().unwrap();
    let cramped = dir.path().join("cramped.toml");
    std::fs::write(&cramped, "name = \"cramped\"\n\n[[region]]\nat = [0.0, 0.95, 1.0, 0.05]\nwidget = \"agency_panels\"\ncolumns = 12\n").unwrap();
    let out = papan(&["layout", "check", cramped.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("cut:  region 1 agency_panels agency name \"Disdukcapil\""), "{stdout}");

    // Service standards in the portrait screen's services widget: the check reads every page as
    // the screen wraps it. A long requirement goes on over more lines at a readable size; a
    // "word" no line holds (a code, a run-together address) is named.
    let hall = std::fs::read_to_string("assets/halls/mpp-palembang.toml").unwrap();
    let fitting = |stdout: &str| -> u32 {
        let line = stdout.lines().find(|l| l.contains("texts fit at a readable size")).unwrap();
        line.split_whitespace().next().unwrap().parse().unwrap()
    };
    let check = |requirement: &str| {
        let edited =
            hall.replacen("\"Kartu Keluarga\", \"Berusia", &format!("\"{requirement}\", \"Berusia"), 1);
        assert!(edited != hall, "the shipped example is where the test expects it");
        let hall_file = dir.path().join("hall.toml");
        std::fs::write(&hall_file, edited).unwrap();
        let layout = "assets/layouts/counter-portrait.toml";
        let out = papan(&["layout", "check", layout, "--hall", hall_file.to_str().unwrap()]);
        (out.status.code(), String::from_utf8_lossy(&out.stdout).to_string())
    };
    let (status, shipped) = check("Kartu Keluarga asli");
    assert_eq!(status, Some(0), "{shipped}");
    assert!(shipped.contains("0 are smaller, 0 are cut"), "{shipped}");
    let (status, long) = check(
        "Surat pengantar dari RT, RW, kelurahan dan kecamatan tempat tinggal yang masih berlaku, \
         ditandatangani dan distempel, beserta fotokopi Kartu Keluarga dan KTP-el orang tua atau wali",
    );
    assert_eq!(status, Some(0), "{long}");
    assert!(long.contains("0 are smaller, 0 are cut"), "{long}");
    assert!(fitting(&long) >= fitting(&shipped) + 2, "its lines are checked: {shipped}{long}");
    let (status, unbreakable) = check(&"Kependudukan".repeat(10));
    assert_eq!(status, Some(1), "{unbreakable}");
    let cut = unbreakable.lines().find(|l| l.starts_with("cut:")).unwrap_or_else(|| panic!("{unbreakable}"));
    assert!(cut.starts_with("cut:  region 5 services requirement \"• KependudukanKependudukan"), "{cut}");

    let broken = dir.path().join("broken.toml");
    std::fs::write(
        &broken,
        "name = \"broken\"\n\n[[region]]\nat = [0.0, 0.0, 1.0, 1.0]\nwidget = \"ticker\"\nrows = 3\n",
    )
    .unwrap();
    let out = papan(&["layout", "check", broken.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("broken.toml:6:8: region 1: rows does not apply to ticker"), "{stderr}");
}

/// The fan-out bench that `scripts/bench` runs against mosquitto: every server kind gets every
/// call to every screen, and says so in the lines the script reads.
#[test]
fn bench_fanout_delivers_to_every_screen_through_papan_and_mosquitto() {
    for (server, line) in [
        ("process", "command → delivered to all screens"),
        ("mosquitto", "publish → delivered to all screens"),
        ("in-process", "command → delivered to all screens"),
    ] {
        let out = papan(&["bench", "fanout", "--server", server, "--screens", "5", "--calls", "30"]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{server}: {stdout}{}", String::from_utf8_lossy(&out.stderr));
        let row =
            stdout.lines().find(|l| l.trim_start().starts_with(line)).unwrap_or_else(|| panic!("{stdout}"));
        let numbers: Vec<f64> = row[row.find(line).unwrap() + line.len()..]
            .split_whitespace()
            .map(|n| n.parse().unwrap())
            .collect();
        assert_eq!(numbers.len(), 3, "p50 p99 max: {row}");
        assert!(numbers[0] > 0.0 && numbers[0] <= numbers[1] && numbers[1] <= numbers[2], "{row}");
        assert!(stdout.contains("throughput:"), "{stdout}");
        if server != "in-process" {
            assert!(stdout.contains("server process:"), "{stdout}");
        }
        // papan's hub times its own journal commits: one per call here, as calls go one by one.
        let commit = stdout.lines().find_map(|l| l.split("journal's commit").nth(1));
        if server == "mosquitto" {
            assert!(commit.is_none(), "{stdout}");
        } else {
            let commit = commit.unwrap_or_else(|| panic!("no journal commit line: {stdout}"));
            let words: Vec<&str> = commit.split_whitespace().collect();
            let mean: f64 = words[words.iter().position(|w| *w == "mean").unwrap() + 1].parse().unwrap();
            let count: u64 = words[words.iter().position(|w| *w == "over").unwrap() + 1].parse().unwrap();
            assert!(mean > 0.0 && mean < numbers[2], "{commit}");
            assert!(count >= 30, "one commit per call at least: {commit}");
        }
    }
}

/// The display bench that `scripts/bench` runs: a real screen, then the browser board in Chromium,
/// both fed by the same hub; each has to draw the board at start and every call after it.
#[test]
fn bench_display_times_papan_and_a_live_browser_board() {
    let out = papan(&[
        "bench",
        "display",
        "--calls",
        "3",
        "--interval-ms",
        "300",
        "--idle-secs",
        "1",
        "--against-chromium",
        "--chromium-settle-secs",
        "1",
        "--speaking",
        // The call is spoken and its hero flashed well within this.
        "--speaking-settle-secs",
        "10",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    let numbers_after = |mark: &str| -> Vec<Vec<f64>> {
        stdout
            .lines()
            .filter_map(|l| l.split(mark).nth(1))
            .map(|rest| {
                rest.split_whitespace().filter_map(|w| w.trim_end_matches(',').parse().ok()).collect()
            })
            .collect()
    };
    let cold = numbers_after("cold start → first frame drawing the board:");
    assert_eq!(cold.len(), 2, "papan's and Chromium's: {stdout}");
    assert!(cold.iter().all(|n| n[0] > 0.0), "{stdout}");
    let calls = numbers_after("call sent → frame drawing it:");
    assert_eq!(calls.len(), 2, "papan's and Chromium's: {stdout}");
    for p in &calls {
        // p50, p99 and max of each board's three calls.
        assert!(p.len() >= 3 && p[0] > 0.0 && p[0] <= p[1] && p[1] <= p[2], "{stdout}");
    }
    // papan's frames by kind: each call's own frame, partial on lavapipe (unless something else
    // changed in it too), with what it cost. (Calls 300 ms apart come before a flash turns.)
    let kinds = numbers_after("ms of CPU a frame, by kind: call");
    assert_eq!(kinds.len(), 1, "{stdout}");
    // "call X ms over N frames, P partial, ...": X, N and P first.
    assert!(kinds[0].len() >= 3, "{stdout}");
    let (call_ms, call_frames, partial_calls) = (kinds[0][0], kinds[0][1], kinds[0][2]);
    assert!(call_ms > 0.0 && call_frames == 3.0 && partial_calls >= 1.0, "{stdout}");
    // "... over K, H of them put on X by hand": on lavapipe every frame timed went to X by hand.
    let line = stdout.lines().find(|l| l.contains("ms of CPU a frame, by kind")).unwrap();
    let words: Vec<&str> = line.split_whitespace().collect();
    let count = |w: &str| w.trim_end_matches(',').parse::<f64>().unwrap();
    let timed: f64 = words.windows(2).filter(|w| w[0] == "over").map(|w| count(w[1])).sum();
    assert_eq!(kinds[0].last(), Some(&timed), "{stdout}");
    let ratios: Vec<&str> = stdout.lines().filter_map(|l| l.split("papan / Chromium: ").nth(1)).collect();
    assert_eq!(ratios.len(), 1, "{stdout}");
    let ratio = |name: &str| -> Option<f64> {
        ratios[0].split(", ").find_map(|field| field.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
    };
    for name in ["PSS", "RSS", "cold start", "call → drawn p50"] {
        assert!(ratio(name).is_some_and(|r| r > 0.0), "{name}: {stdout}");
    }
    // An idle second may cost papan no tick at all, and Chromium too: then there is no ratio.
    assert!(
        ratio("CPU").is_some_and(|r| r >= 0.0) || ratios[0].contains("CPU - (Chromium 0)"),
        "CPU: {stdout}"
    );
    // The speaking screen at rest on the paced sink: the device wakes once per period (so the sink
    // is paced and the screen has its device open), the player thread sleeps.
    let speaking = stdout.lines().skip_while(|l| !l.starts_with("a speaking screen at rest")).nth(1);
    let speaking = speaking.unwrap_or_else(|| panic!("no speaking screen: {stdout}"));
    let rate = |thread: &str| -> Option<f64> {
        let after = speaking.split(&format!("{thread} ")).nth(1)?;
        after.split("/s").next()?.parse().ok()
    };
    assert!(rate("cpal_alsa_out").is_some_and(|r| r > 5.0), "{speaking}");
    assert!(rate("papan-audio").is_none_or(|r| r <= 5.0), "{speaking}");
}
