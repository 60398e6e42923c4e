//! Prints every default email rendered with its sample fields: `cargo run -p patron-mail --example preview [es]`.

use patron_mail::{EventKind, MailContext, TemplateOverrides, render, sample_fields};

fn main() {
    let language = std::env::args().nth(1);
    let ctx = MailContext {
        program_name: "Acme Rewards".to_owned(),
        unsubscribe_url: Some("https://shop.example.com/unsubscribe/abc".to_owned()),
    };
    for event in EventKind::ALL {
        match render(
            event,
            language.as_deref(),
            &sample_fields(event),
            &TemplateOverrides::new(),
            &ctx,
        ) {
            Ok(mail) => println!(
                "==== {event} [{}]\nSubject: {}\n---- text\n{}---- html\n{}\n",
                mail.language, mail.subject, mail.text, mail.html
            ),
            Err(err) => println!("==== {event}: {err}"),
        }
    }
}
