//! Who may do what (R13, R17, R19, R20), as pure predicates over what both
//! the service and the console hold: the acting user's kind, and their
//! access level on integrations (`None` when they have none).
//!
//! The service calls them to refuse; the console calls them to dim an
//! action and say why before any request. Wording of refusals stays with
//! each caller; these only decide.
//!
//! - Owner and admins: everything (R20).
//! - A member: an integration's registrations and flows only when they
//!   manage it (R19); a connection's edits and credentials only when they
//!   manage an integration it is registered with (R20); creating a
//!   connection only inside an integration they manage (R13); deleting
//!   connections and touching standalone flows never (R17, R20).
//! - Integration apps take no registrations, whoever asks (R17).

use crate::model::{AccessLevel, IntegrationKind, UserKind};

/// What a user may do with a record, as the rules decide it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// They may.
    Allowed,
    /// They see it but only monitor it: refused, and told so (R19).
    MonitorOnly,
    /// They cannot see it: reported as not found, never forbidden (R18).
    Unseen,
}

impl Verdict {
    pub fn allowed(self) -> bool {
        self == Verdict::Allowed
    }
}

/// R20: owner and admins may do everything.
pub fn is_admin(kind: UserKind) -> bool {
    matches!(kind, UserKind::Owner | UserKind::Admin)
}

/// Whether a level is `manage` (R19). `level` is the user's effective
/// level, as the service reports it on an integration: `manage` for the
/// owner and admins, the member's own level otherwise.
pub fn manages(level: Option<AccessLevel>) -> bool {
    level == Some(AccessLevel::Manage)
}

/// R19 (with R18): what a user may do to an integration they hold `level`
/// on: register, deregister, rename it, save or delete its flows, create
/// connections inside it.
pub fn on_integration(kind: UserKind, level: Option<AccessLevel>) -> Verdict {
    if is_admin(kind) {
        return Verdict::Allowed;
    }
    match level {
        Some(AccessLevel::Manage) => Verdict::Allowed,
        Some(AccessLevel::Monitor) => Verdict::MonitorOnly,
        None => Verdict::Unseen,
    }
}

/// R19: whether the user may change an integration they hold `level` on.
pub fn may_manage_integration(kind: UserKind, level: Option<AccessLevel>) -> bool {
    on_integration(kind, level).allowed()
}

/// R20 (with R18): what a user may do to a connection (edit it, its role
/// and group, see or regenerate its credentials), given their levels on
/// the integrations it is registered with (any order; a single best level
/// works too, as an `Option`).
pub fn on_connection(kind: UserKind, levels: impl IntoIterator<Item = AccessLevel>) -> Verdict {
    if is_admin(kind) {
        return Verdict::Allowed;
    }
    levels
        .into_iter()
        .fold(Verdict::Unseen, |best, level| match (best, level) {
            (Verdict::Allowed, _) | (_, AccessLevel::Manage) => Verdict::Allowed,
            (_, AccessLevel::Monitor) => Verdict::MonitorOnly,
        })
}

/// R20: whether the user may act on a connection (see [`on_connection`]).
pub fn may_act_on_connection(
    kind: UserKind,
    levels: impl IntoIterator<Item = AccessLevel>,
) -> bool {
    on_connection(kind, levels).allowed()
}

/// R20 (R8): deleting connections is for the owner and admins.
pub fn may_delete_connection(kind: UserKind) -> bool {
    is_admin(kind)
}

/// R13: a connection created outside any integration: owner and admins.
pub fn may_create_connection_outside(kind: UserKind) -> bool {
    is_admin(kind)
}

/// R13 (R19): creating a connection inside an integration the user holds
/// `level` on (it is registered there at once).
pub fn may_create_connection_in(kind: UserKind, level: Option<AccessLevel>) -> bool {
    may_manage_integration(kind, level)
}

/// R13 with R17: whether an integration is one to offer for creating a
/// connection inside: a standard one the user manages (`level` as the
/// service reports it, `manage` for admins).
pub fn offers_creation_in(integration: IntegrationKind, level: Option<AccessLevel>) -> bool {
    takes_registrations(integration) && manages(level)
}

/// R17: integration apps own their connections; only standard integrations
/// take registrations.
pub fn takes_registrations(integration: IntegrationKind) -> bool {
    integration == IntegrationKind::Standard
}

/// Why an integration takes no registration changes from a user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegistrationRefusal {
    /// It is an integration app (R17), whoever asks.
    App,
    /// The user does not manage it (R19).
    NotManager,
}

/// R12, R15, R17, R19: whether a user may register connections with (or
/// deregister them from) an integration of `integration` kind they hold
/// `level` on.
pub fn registration(
    kind: UserKind,
    integration: IntegrationKind,
    level: Option<AccessLevel>,
) -> Result<(), RegistrationRefusal> {
    if !takes_registrations(integration) {
        return Err(RegistrationRefusal::App);
    }
    if !may_manage_integration(kind, level) {
        return Err(RegistrationRefusal::NotManager);
    }
    Ok(())
}

/// Where a flow lives, for deciding who may change it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlowHome {
    /// In no integration (R17).
    Standalone,
    /// In an integration the user holds this level on.
    In(Option<AccessLevel>),
}

/// R17, R19: whether a user may change a flow's steps (save, delete,
/// replace a connection in it): a standalone flow only for owner and
/// admins; a flow of an integration for those who manage it.
pub fn may_change_flows(kind: UserKind, home: FlowHome) -> bool {
    match home {
        FlowHome::Standalone => is_admin(kind),
        FlowHome::In(level) => may_manage_integration(kind, level),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use AccessLevel::{Manage, Monitor};
    use IntegrationKind::{App, Standard};
    use UserKind::{Admin, Member, Owner};

    const KINDS: [UserKind; 3] = [Owner, Admin, Member];
    const LEVELS: [Option<AccessLevel>; 3] = [None, Some(Monitor), Some(Manage)];
    const INTEGRATIONS: [IntegrationKind; 2] = [Standard, App];

    #[test]
    fn r20_owner_and_admins_may_do_everything() {
        assert!(is_admin(Owner));
        assert!(is_admin(Admin));
        assert!(!is_admin(Member));
        for kind in [Owner, Admin] {
            assert!(may_act_on_connection(kind, []));
            assert!(may_delete_connection(kind));
            assert!(may_create_connection_outside(kind));
            assert!(may_change_flows(kind, FlowHome::Standalone));
            assert_eq!(on_integration(kind, None), Verdict::Allowed);
        }
    }

    #[test]
    fn r20_member_acts_on_a_connection_only_through_an_integration_they_manage() {
        assert_eq!(on_connection(Member, []), Verdict::Unseen);
        assert_eq!(on_connection(Member, [Monitor]), Verdict::MonitorOnly);
        assert_eq!(
            on_connection(Member, [Monitor, Monitor]),
            Verdict::MonitorOnly
        );
        assert_eq!(on_connection(Member, [Manage]), Verdict::Allowed);
        assert_eq!(on_connection(Member, [Monitor, Manage]), Verdict::Allowed);
        assert_eq!(on_connection(Member, [Manage, Monitor]), Verdict::Allowed);
        // The service holds the best level only; an Option is the same input.
        assert_eq!(on_connection(Member, None), Verdict::Unseen);
        assert_eq!(on_connection(Member, Some(Monitor)), Verdict::MonitorOnly);
        assert!(may_act_on_connection(Member, Some(Manage)));
        assert!(!may_act_on_connection(Member, Some(Monitor)));
    }

    #[test]
    fn r20_only_owner_and_admins_delete_connections() {
        assert!(!may_delete_connection(Member));
    }

    #[test]
    fn r19_monitor_is_read_only_manage_may_change() {
        assert_eq!(on_integration(Member, Some(Manage)), Verdict::Allowed);
        assert_eq!(on_integration(Member, Some(Monitor)), Verdict::MonitorOnly);
        assert_eq!(on_integration(Member, None), Verdict::Unseen);
        assert!(may_change_flows(Member, FlowHome::In(Some(Manage))));
        assert!(!may_change_flows(Member, FlowHome::In(Some(Monitor))));
        assert!(!may_change_flows(Member, FlowHome::In(None)));
    }

    #[test]
    fn r17_standalone_flows_are_for_admins() {
        assert!(!may_change_flows(Member, FlowHome::Standalone));
        assert!(may_change_flows(Owner, FlowHome::Standalone));
    }

    #[test]
    fn r17_apps_take_no_registrations_whoever_asks() {
        for kind in KINDS {
            for level in LEVELS {
                assert_eq!(
                    registration(kind, App, level),
                    Err(RegistrationRefusal::App)
                );
            }
        }
        assert!(takes_registrations(Standard));
        assert!(!takes_registrations(App));
    }

    #[test]
    fn r13_members_create_only_inside_an_integration_they_manage() {
        assert!(!may_create_connection_outside(Member));
        assert!(may_create_connection_in(Member, Some(Manage)));
        assert!(!may_create_connection_in(Member, Some(Monitor)));
        assert!(!may_create_connection_in(Member, None));
        assert!(offers_creation_in(Standard, Some(Manage)));
        assert!(!offers_creation_in(App, Some(Manage)));
        assert!(!offers_creation_in(Standard, Some(Monitor)));
        assert!(!offers_creation_in(Standard, None));
    }

    /// Every user kind × access level × integration kind, against the
    /// rules written out once more as a table.
    #[test]
    fn r13_r17_r19_r20_table() {
        for kind in KINDS {
            for level in LEVELS {
                for integration in INTEGRATIONS {
                    let admin = kind != Member;
                    let manage = level == Some(Manage);
                    let standard = integration == Standard;
                    let case = format!("{kind:?} {level:?} {integration:?}");

                    let verdict = match (admin, level) {
                        (true, _) | (false, Some(Manage)) => Verdict::Allowed,
                        (false, Some(Monitor)) => Verdict::MonitorOnly,
                        (false, None) => Verdict::Unseen,
                    };
                    assert_eq!(on_integration(kind, level), verdict, "R19 {case}");
                    assert_eq!(on_connection(kind, level), verdict, "R20 {case}");
                    assert_eq!(
                        may_manage_integration(kind, level),
                        admin || manage,
                        "R19 {case}"
                    );
                    assert_eq!(
                        may_act_on_connection(kind, level),
                        admin || manage,
                        "R20 {case}"
                    );
                    assert_eq!(
                        may_change_flows(kind, FlowHome::In(level)),
                        admin || manage,
                        "R19 flows {case}"
                    );
                    assert_eq!(
                        may_change_flows(kind, FlowHome::Standalone),
                        admin,
                        "R17 standalone {case}"
                    );
                    assert_eq!(may_delete_connection(kind), admin, "R20 delete {case}");
                    assert_eq!(
                        may_create_connection_outside(kind),
                        admin,
                        "R13 outside {case}"
                    );
                    assert_eq!(
                        may_create_connection_in(kind, level),
                        admin || manage,
                        "R13 inside {case}"
                    );
                    assert_eq!(
                        offers_creation_in(integration, level),
                        standard && manage,
                        "R13 offered {case}"
                    );
                    let expected = if !standard {
                        Err(RegistrationRefusal::App)
                    } else if !(admin || manage) {
                        Err(RegistrationRefusal::NotManager)
                    } else {
                        Ok(())
                    };
                    assert_eq!(
                        registration(kind, integration, level),
                        expected,
                        "R12/R17/R19 {case}"
                    );
                }
            }
        }
    }
}
