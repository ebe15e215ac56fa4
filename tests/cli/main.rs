//! The CLI's integration tests, in one binary: each module covers one part of the manual, and
//! every test runs `lab` through the harness in its own temp folder with an isolated environment.

mod harness;

mod check;
mod dev;
mod doc_cases;
mod docs_labs;
mod feedback;
mod integrity;
mod labs;
mod learner;
mod list_show;
mod mermaid;
mod new;
mod pipes;
mod prereqs;
mod reports;
mod setup;
mod validate;
