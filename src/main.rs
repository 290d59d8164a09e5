use std::process::ExitCode;

use clap::Parser;
use trcker::cli::{AdminCommand, Cli, Command, KeysCommand, LogFormat};

fn main() -> ExitCode {
    // Before any file is made: the store is private to its owner.
    trcker::db::files::private_umask();
    let cli = Cli::parse();
    let logs = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("TRCKER_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr);
    match cli.log_format {
        LogFormat::Text => logs.init(),
        LogFormat::Json => logs.json().flatten_event(true).init(),
    }
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve {
            addr,
            data_dir,
            rate_limit,
            secure_cookies,
            public_url,
            trust_proxy,
            synchronous,
            client_timeout,
            max_connections,
            metrics_addr,
            retain_clicks,
        } => {
            let config = trcker::Config {
                addr,
                data_dir: data_dir.resolve(),
                rate_limit,
                secure_cookies,
                public_url,
                trust_proxy,
                fsync_each_commit: synchronous == trcker::cli::Synchronous::Full,
                client_timeout: std::time::Duration::from_secs(client_timeout),
                max_connections: max_connections.map(|n| n as usize),
                metrics_addr,
                retain_clicks_days: retain_clicks,
                max_report_rows: trcker::config::MAX_REPORT_ROWS,
                seal_step_rows: trcker::config::SEAL_STEP_ROWS,
            };
            trcker::allocator::limit_arenas();
            let rt = tokio::runtime::Runtime::new()?;
            // Held until the process exits: one server per data dir.
            let _lock = trcker::db::files::claim(&config.data_dir, "serve")?;
            rt.block_on(trcker::server::run(config))
        }
        Command::Keys {
            command:
                KeysCommand::Create {
                    brand,
                    name,
                    data_dir,
                },
        } => {
            let dir = data_dir.resolve();
            let created = trcker::admin_cli::create_key(&dir, &brand, &name)?;
            if created.brand_created {
                eprintln!("created brand {brand:?}");
            }
            eprintln!(
                "created key {:?} for brand {brand:?}; store it now, it is not shown again:",
                name
            );
            println!("{}", created.key);
            Ok(())
        }
        Command::Admin { command } => match command {
            AdminCommand::Create { email, data_dir } => {
                let password = trcker::admin_cli::read_password(true)?;
                let email =
                    trcker::admin_cli::create_admin(&data_dir.resolve(), &email, &password)?;
                eprintln!("created admin {email}; sign in at /login");
                Ok(())
            }
            AdminCommand::ResetPassword { email, data_dir } => {
                let password = trcker::admin_cli::read_password(true)?;
                let email =
                    trcker::admin_cli::reset_password(&data_dir.resolve(), &email, &password)?;
                eprintln!("new password set for {email}; their sessions are signed out");
                Ok(())
            }
        },
        Command::Openapi => {
            print!("{}", trcker::spec_json());
            Ok(())
        }
        Command::Seed(args) => trcker::cli::run::seed(args),
        Command::Backup(args) => trcker::cli::run::backup(args),
        Command::Restore(args) => trcker::cli::run::restore(args),
    }
}
