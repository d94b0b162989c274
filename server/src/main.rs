//! `mhc`: the My Health Connection server and its administration commands.

use backend::RequestMeta;
use backend::demo;
use clap::{Parser, Subcommand};
use domain::records::Holdable;
use domain::session::Role;
use server::config::Config;
use server::web::{WebState, router};
use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "mhc",
    version,
    about = "My Health Connection: a patient portal."
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the portal (the default). Migrates first; seeds demo data into an empty embedded database.
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Import FHIR R4 into the default clinic: Bundle JSON files (each whole or not at all) and
    /// Bulk Data NDJSON files (`*.ndjson`, all of them together, whole or not at all).
    Import {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Staff accounts.
    Staff {
        #[command(subcommand)]
        command: StaffCommand,
    },
    /// Patients.
    Patient {
        #[command(subcommand)]
        command: PatientCommand,
    },
    /// Accounts.
    Account {
        #[command(subcommand)]
        command: AccountCommand,
    },
    /// Results: hold one from its patient (with the documented reason), release it, or
    /// record a clinician's review.
    Result {
        #[command(subcommand)]
        command: ResultCommand,
    },
    /// Reports: hold a whole report (its results with it) from its patient, or release it.
    Report {
        #[command(subcommand)]
        command: HoldCommand,
    },
    /// Visit notes: hold one from its patient, or release it.
    Note {
        #[command(subcommand)]
        command: HoldCommand,
    },
    /// API tokens for the EHR feed (`POST /fhir/import`).
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// The audit log.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Print the mail outbox (messages kept when no SMTP server is configured).
    Outbox {
        /// How many of the newest messages to print.
        #[arg(long, default_value_t = 20)]
        limit: u64,
    },
}

#[derive(Subcommand)]
enum StaffCommand {
    /// Create a staff account. The password is read from standard input.
    Create {
        #[arg(long)]
        username: String,
        #[arg(long)]
        email: String,
        #[arg(long)]
        first_name: String,
        #[arg(long)]
        last_name: String,
        /// clinician, front_desk or admin
        #[arg(long)]
        role: String,
    },
}

#[derive(Subcommand)]
enum ResultCommand {
    /// Hold a result: the patient does not see it until it is released. Audited.
    Hold {
        /// The result's id (the portal's or its FHIR id).
        id: String,
        /// Why it is held (10 to 500 characters); kept in the audit log.
        #[arg(long)]
        reason: String,
    },
    /// Release a held result.
    Release { id: String },
    /// Record that a clinician reviewed a result.
    Review { id: String },
}

#[derive(Subcommand)]
enum HoldCommand {
    /// Hold it: the patient does not see it until it is released. Audited.
    Hold {
        /// Its id (the portal's or its FHIR id).
        id: String,
        /// Why it is held (10 to 500 characters); kept in the audit log.
        #[arg(long)]
        reason: String,
    },
    /// Release a hold.
    Release { id: String },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Create a token for the default clinic. The secret goes to a new file readable by its
    /// owner only (never to the terminal or a log); the portal keeps only its hash.
    Create {
        /// What the token is for ("EHR nightly feed").
        #[arg(long)]
        name: String,
        /// Where to write the token (a new file; an existing one is not overwritten).
        #[arg(long)]
        out: PathBuf,
    },
    /// List the tokens (never their secrets).
    List,
    /// Revoke a token at once.
    Revoke { id: String },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Check the audit log's hash chain: prints OK, or the first row that was altered or
    /// removed (and exits with status 1).
    Verify,
}

#[derive(Subcommand)]
enum PatientCommand {
    /// Issue a new activation code for a patient (earlier codes stop working) and print it.
    ActivationCode {
        /// The patient's medical record number.
        #[arg(long)]
        mrn: String,
    },
}

#[derive(Subcommand)]
enum AccountCommand {
    /// Unlock an account after checking the person's identity.
    Unlock {
        /// Username or email address.
        login: String,
    },
    /// Suspend an account: sign-in is refused and every session ends at once.
    Suspend {
        /// Username or email address.
        login: String,
    },
    /// Lift a suspension after checking the person's identity.
    Restore {
        /// Username or email address.
        login: String,
    },
    /// Remove an account's second sign-in steps and backup codes (a lost phone), after
    /// checking the person's identity. The person is told by email.
    ResetFactors {
        /// Username or email address.
        login: String,
    },
}

fn cli_meta() -> RequestMeta {
    RequestMeta {
        ip: None,
        user_agent: Some("mhc command line".into()),
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,sqlx=warn,sea_orm=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match run(cli.command.unwrap_or(Command::Serve)).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `mhc result|report|note hold|release`: the clinic's operator, audited as the command line.
async fn hold_command(
    portal: &backend::Portal,
    what: Holdable,
    command: HoldCommand,
) -> Result<(), String> {
    use backend::release::ClinicActor::CommandLine;
    let meta = cli_meta();
    let done = match command {
        HoldCommand::Hold { id, reason } => {
            portal
                .hold(CommandLine, what, &id, &reason, &meta)
                .await
                .map_err(|e| e.to_string())?;
            "held: the patient does not see it until it is released"
        }
        HoldCommand::Release { id } => {
            portal
                .release(CommandLine, what, &id, &meta)
                .await
                .map_err(|e| e.to_string())?;
            "released"
        }
    };
    println!("{} {done}", what.noun());
    Ok(())
}

async fn run(cmd: Command) -> Result<(), String> {
    let cfg = Config::load()?;
    let portal = server::open_portal(&cfg).await?;
    let by = "mhc command line";
    let meta = cli_meta();
    match cmd {
        Command::Serve => serve(cfg, portal).await,
        Command::Migrate => {
            println!("migrations applied");
            Ok(())
        }
        Command::Report { command } => hold_command(&portal, Holdable::Report, command).await,
        Command::Note { command } => hold_command(&portal, Holdable::Note, command).await,
        Command::Result { command } => {
            use backend::release::ClinicActor::CommandLine;
            let (done, what) = match command {
                ResultCommand::Hold { id, reason } => {
                    let hold = HoldCommand::Hold { id, reason };
                    return hold_command(&portal, Holdable::Result, hold).await;
                }
                ResultCommand::Release { id } => {
                    let release = HoldCommand::Release { id };
                    return hold_command(&portal, Holdable::Result, release).await;
                }
                ResultCommand::Review { id } => (
                    portal.review_result(CommandLine, &id, &meta).await,
                    "marked as reviewed",
                ),
            };
            done.map_err(|e| e.to_string())?;
            println!("result {what}");
            Ok(())
        }
        Command::Token { command } => match command {
            TokenCommand::Create { name, out } => {
                // The file first: a token that could not be kept is never created.
                let mut file = secret_file(&out)?;
                let clinic = demo::default_clinic(&portal)
                    .await
                    .map_err(|e| e.to_string())?;
                let (id, secret) = portal
                    .create_api_token(&clinic, &name)
                    .await
                    .map_err(|e| e.to_string())?;
                use std::io::Write;
                writeln!(file, "{secret}").map_err(|e| format!("{}: {e}", out.display()))?;
                println!("token id: {id}");
                println!(
                    "The token is in {} (readable by you only). Send it as 'Authorization: Bearer <token>' to POST /fhir/import; the portal cannot show it again.",
                    out.display()
                );
                Ok(())
            }
            TokenCommand::List => {
                for t in portal.list_api_tokens().await.map_err(|e| e.to_string())? {
                    println!(
                        "{}  {}  created {}  last used {}{}",
                        t.id,
                        t.name,
                        backend::auth::session::format_instant(t.created_at),
                        t.last_used_at
                            .map(backend::auth::session::format_instant)
                            .unwrap_or_else(|| "never".into()),
                        if t.revoked { "  (revoked)" } else { "" }
                    );
                }
                Ok(())
            }
            TokenCommand::Revoke { id } => {
                portal
                    .revoke_api_token(&id)
                    .await
                    .map_err(|e| e.to_string())?;
                println!("token revoked");
                Ok(())
            }
        },
        Command::Audit {
            command: AuditCommand::Verify,
        } => match portal.verify_audit().await.map_err(|e| e.to_string())? {
            backend::audit::Verdict::Intact { rows } => {
                println!("OK: the audit log's {rows} rows are intact");
                Ok(())
            }
            backend::audit::Verdict::Broken { reason, .. } => {
                Err(format!("the audit log was tampered with: {reason}"))
            }
        },
        Command::Import { files } => {
            let clinic = demo::default_clinic(&portal)
                .await
                .map_err(|e| e.to_string())?;
            import_files(&portal, &clinic, &files).await
        }
        Command::Staff {
            command:
                StaffCommand::Create {
                    username,
                    email,
                    first_name,
                    last_name,
                    role,
                },
        } => {
            let role = Role::parse(&role)
                .filter(|r| r.is_staff())
                .ok_or("--role must be clinician, front_desk or admin")?;
            let mut password = String::new();
            std::io::stdin()
                .read_to_string(&mut password)
                .map_err(|e| format!("reading the password from standard input: {e}"))?;
            let password = password.trim_end_matches(['\r', '\n']);
            let clinic = demo::default_clinic(&portal)
                .await
                .map_err(|e| e.to_string())?;
            portal
                .create_staff(
                    backend::staff::NewStaff {
                        username: &username,
                        email: &email,
                        given_name: &first_name,
                        family_name: &last_name,
                        role,
                        password,
                        clinic_id: Some(clinic),
                    },
                    by,
                    &meta,
                )
                .await
                .map_err(|e| e.to_string())?;
            println!("created {} account {username}", role.as_str());
            Ok(())
        }
        Command::Patient {
            command: PatientCommand::ActivationCode { mrn },
        } => {
            let p = portal
                .patient_by_mrn(&mrn)
                .await
                .map_err(|_| format!("no patient with MRN {mrn}"))?;
            let issued = portal
                .issue_activation_code(&p.id, by, &meta)
                .await
                .map_err(|e| e.to_string())?;
            println!(
                "patient: {} {} (MRN {})",
                p.given_name, p.family_name, p.mrn
            );
            // Printing the code is this command's purpose: staff put it on the patient's letter.
            // It goes to stdout only, never to the log.
            println!("activation code: {}", issued.code.display());
            println!("expires: {}", backend::clock::to_rfc3339(issued.expires_at));
            Ok(())
        }
        Command::Account {
            command: AccountCommand::Unlock { login },
        } => {
            let username = portal
                .unlock_account(&login, by, &meta)
                .await
                .map_err(|e| match e {
                    backend::Error::NotFound => format!("no account {login}"),
                    e => e.to_string(),
                })?;
            println!("unlocked {username}");
            Ok(())
        }
        Command::Account { command } => {
            let not_found = |login: &str| {
                let login = login.to_owned();
                move |e: backend::Error| match e {
                    backend::Error::NotFound => format!("no account {login}"),
                    e => e.to_string(),
                }
            };
            match command {
                AccountCommand::Suspend { login } => {
                    let u = portal
                        .suspend_account(&login, by, &meta)
                        .await
                        .map_err(not_found(&login))?;
                    println!("suspended {u}; every session of it has ended");
                }
                AccountCommand::Restore { login } => {
                    let u = portal
                        .restore_account(&login, by, &meta)
                        .await
                        .map_err(not_found(&login))?;
                    println!("restored {u}");
                }
                AccountCommand::ResetFactors { login } => {
                    let (u, n) = portal
                        .reset_second_factors(&login, by, &meta)
                        .await
                        .map_err(not_found(&login))?;
                    println!(
                        "removed {n} second sign-in steps and the backup codes of {u}; they were told by email"
                    );
                }
                AccountCommand::Unlock { .. } => unreachable!("handled above"),
            }
            Ok(())
        }
        Command::Outbox { limit } => {
            let rows = portal.outbox(limit).await.map_err(|e| e.to_string())?;
            if rows.is_empty() {
                println!("the outbox is empty");
            }
            for m in rows {
                println!(
                    "--- {} to {}\nSubject: {}\n\n{}\n",
                    backend::clock::to_rfc3339(m.created_at),
                    m.recipient,
                    m.subject,
                    m.body
                );
            }
            Ok(())
        }
    }
}

async fn serve(cfg: Config, portal: backend::Portal) -> Result<(), String> {
    if cfg.demo {
        let d = demo::seed(&portal, &cfg.fixtures_dir)
            .await
            .map_err(|e| format!("demo data: {e}"))?;
        demo::seed_clinic_day(&portal)
            .await
            .map_err(|e| format!("demo clinic day: {e}"))?;
        print_sign_ins(&cfg, &d);
    }
    portal
        .passwords
        .warm_up()
        .await
        .map_err(|e| e.to_string())?;
    // Appointment and proxy-access reminders: every minute, each due reminder claimed by one update, so
    // several instances never send one twice.
    let reminders = portal.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
        loop {
            tick.tick().await;
            if let Err(e) = reminders.send_due_reminders().await {
                tracing::warn!(error = %e, "appointment reminders failed this round");
            }
            // Patients review a caregiver's access two weeks before it ends.
            if let Err(e) = reminders.send_grant_reminders().await {
                tracing::warn!(error = %e, "proxy access reminders failed this round");
            }
        }
    });
    let options = server::leptos_options(&cfg);
    let app = router(WebState {
        portal,
        options,
        https: cfg.https(),
        trusted_proxies: cfg.trusted_proxies.clone(),
    });
    let listener = tokio::net::TcpListener::bind(cfg.addr)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", cfg.addr))?;
    tracing::info!("listening on http://{}", cfg.addr);
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await
    .map_err(|e| e.to_string())
}

fn print_sign_ins(cfg: &Config, d: &demo::DemoSignIns) {
    let url = format!("http://{}", cfg.addr).replace("127.0.0.1", "localhost");
    println!();
    println!("  My Health Connection is running at {url}");
    println!();
    println!("  Demo patient with an account:");
    println!("    username  {}", d.ready_username);
    // The demo password is published (README); demo mode is refused on https.
    println!("    password  {}", demo::DEMO_PASSWORD);
    println!();
    match &d.activation_code {
        Some(code) => {
            println!("  Demo patient who activates an account ({url}/activate):");
            println!("    first and last name  {}", d.activate_name);
            println!("    date of birth        {}", d.activate_dob);
            println!("    activation code      {code}");
            println!(
                "    The email code is printed by `mhc outbox` (or arrives by SMTP when PORTAL_SMTP_URL is set)."
            );
        }
        None => println!(
            "  The second demo patient ({}) has already activated an account.",
            d.activate_name
        ),
    }
    println!();
    println!("  Caregivers and a teenager (password as above):");
    for (username, who) in &d.family {
        println!("    {username:<18} {who}");
    }
    println!();
    println!(
        "  Staff accounts (password as above; the first sign-in sets up an authenticator app): {}",
        d.staff
            .iter()
            .map(|(u, r)| format!("{u} ({})", r.as_str()))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "  The staff console is at {url}/staff (team inbox, refills, schedule, patients, results)."
    );
    println!();
}

/// `mhc import`: each bundle on its own, the NDJSON files together; a summary for each.
async fn import_files(
    portal: &backend::Portal,
    clinic: &str,
    files: &[PathBuf],
) -> Result<(), String> {
    let read =
        |f: &PathBuf| std::fs::read_to_string(f).map_err(|e| format!("{}: {e}", f.display()));
    let (ndjson, bundles): (Vec<&PathBuf>, Vec<&PathBuf>) = files
        .iter()
        .partition(|f| f.extension().is_some_and(|x| x == "ndjson"));
    let mut refused = 0;
    // Prints one import's outcome; false when it was refused.
    let report = |what: String, ms: u128, summary: backend::fhir::ImportSummary| {
        if summary.errors.is_empty() {
            println!("{what} imported in {ms} ms:\n{summary}");
            return true;
        }
        println!("{what} refused, nothing imported:");
        for e in &summary.errors {
            println!("  error: {e}");
        }
        print!("{summary}");
        false
    };
    for f in bundles {
        let started = std::time::Instant::now();
        let text = read(f)?;
        let json: serde_json::Value = match serde_json::from_str(&text) {
            Ok(j) => j,
            Err(e) => {
                println!(
                    "{} refused, nothing imported:\n  error: not JSON: {e}",
                    f.display()
                );
                refused += 1;
                continue;
            }
        };
        let name = f.display().to_string();
        match portal.import_bundle_report(clinic, &name, &json).await {
            Ok(summary) => {
                if !report(name, started.elapsed().as_millis(), summary) {
                    refused += 1;
                }
            }
            Err(e) => {
                println!("{name} refused, nothing imported:\n  error: {e}");
                refused += 1;
            }
        }
    }
    if !ndjson.is_empty() {
        let started = std::time::Instant::now();
        let mut texts = vec![];
        for f in &ndjson {
            texts.push((f.display().to_string(), read(f)?));
        }
        let names: Vec<&str> = texts.iter().map(|(n, _)| n.as_str()).collect();
        let what = names.join(", ");
        let summary = portal
            .import_ndjson(clinic, &texts)
            .await
            .map_err(|e| format!("{what}: {e}"))?;
        if !report(what, started.elapsed().as_millis(), summary) {
            refused += 1;
        }
    }
    if refused > 0 {
        Err(format!("{refused} import(s) refused"))
    } else {
        Ok(())
    }
}

/// A new file that only its owner can read, for a secret.
fn secret_file(path: &std::path::Path) -> Result<std::fs::File, String> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    opts.open(path)
        .map_err(|e| format!("{}: {e} (choose a new file)", path.display()))
}
