//! Sync groups: instances that change state together, as keepalived's `vrrp_sync_group`
//! moves them (a VIP on the outside and its gateway on the inside are only useful together).
//!
//! The node owns every instance; this module only decides. After each input the node hands
//! it the transitions the instances made on their own and a view of every member, and
//! carries out the moves it returns, which may cause further moves (bounded: see
//! [`MAX_ROUNDS`]). The rules:
//! - **Fault.** While any member is in Fault for a reason of its own (its interface, a
//!   weight-0 check), every other member is held in Fault too. A member stays held after its
//!   own fault clears, until no member has a fault of its own; then all leave together.
//! - **Master.** A member that became master on its own takes the others with it: a backup
//!   takes over at once, a master handing over stops handing over.
//! - **Backup.** A member that fell from master to backup on its own (a higher priority
//!   heard, a `Resign`) makes the other masters hand over, make-before-break (priority 0,
//!   addresses kept until the successor is heard). A member that handed over this way does
//!   not preempt its successor afterwards, so two routers whose priorities rank the members
//!   differently settle instead of taking the group from each other in turn.
//!
//! Moves the group caused are not transitions "on their own": following them would let one
//! group move trigger the next.

use std::collections::HashMap;

use crate::state::State;

/// One sync group: its name and its members' names, each member in no other group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncGroup {
    /// The group's name.
    pub name: String,
    /// Its instances, in the order written.
    pub instances: Vec<String>,
    /// Whether the members' health checks with a weight move their priority (keepalived's
    /// `sync_group_tracking_weight`). Without it a member's weighted checks are ignored and
    /// only its weight-0 checks count, which fault the whole group: keepalived 2.2.7 drops
    /// the weights of a member's trackers in `vrrp_complete_instance()`
    /// (`keepalived/vrrp/vrrp.c`), since members whose priorities drift apart one by one
    /// would no longer change state together.
    pub tracking_weight: bool,
}

/// How many rounds of moves one input may cause. Each round follows transitions the
/// previous one caused, which the group rules never propagate, so two rounds settle any
/// input; the bound only guards against a rule change that would loop.
pub const MAX_ROUNDS: usize = 4;

/// A state change an instance made, as the group sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupTransition {
    /// The instance.
    pub instance: String,
    /// Its state before.
    pub from: State,
    /// Its state after.
    pub to: State,
    /// Whether a group move caused it (those are not followed).
    pub caused_by_group: bool,
}

/// One member as the group sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemberView {
    /// Its state.
    pub state: State,
    /// Whether it is in Fault for a reason of its own.
    pub own_fault: bool,
    /// Whether the group holds it in Fault.
    pub held_by_group: bool,
    /// Whether it is master and handing over (priority 0 sent, addresses still held).
    pub handing_over: bool,
}

/// What the group makes a member do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GroupMove {
    /// Enter Fault (or stay there) because another member has a fault.
    HoldInFault,
    /// No member has a fault of its own any more: leave Fault unless it has one itself.
    ReleaseFault,
    /// Become master with the group; stop handing over if it is.
    TakeOver,
    /// Hand over, as a `Resign` does, because another member fell back to backup.
    HandOver,
}

/// A move for one member, with the group that asks for it (for the log line).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberMove {
    /// The member.
    pub instance: String,
    /// Its group.
    pub group: String,
    /// What it does.
    pub group_move: GroupMove,
}

/// Every sync group of the configuration.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SyncGroups {
    groups: Vec<SyncGroup>,
    /// The group of each member, by instance name.
    group_of: HashMap<String, usize>,
}

impl SyncGroups {
    /// The groups of a validated configuration (each instance is in one group at most).
    pub fn new(groups: &[SyncGroup]) -> Self {
        let mut group_of = HashMap::new();
        for (position, group) in groups.iter().enumerate() {
            for member in &group.instances {
                group_of.insert(member.clone(), position);
            }
        }
        SyncGroups {
            groups: groups.to_vec(),
            group_of,
        }
    }

    /// Whether `instance` is a member of a group.
    pub fn contains(&self, instance: &str) -> bool {
        self.group_of.contains_key(instance)
    }

    /// Whether `instance` is a member of a group whose members' weighted health checks are
    /// ignored (the group lacks [`SyncGroup::tracking_weight`]).
    pub fn ignores_weights_of(&self, instance: &str) -> bool {
        self.group_of
            .get(instance)
            .and_then(|&position| self.groups.get(position))
            .is_some_and(|group| !group.tracking_weight)
    }

    /// Whether there is no group at all.
    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    /// Every group.
    pub fn groups(&self) -> &[SyncGroup] {
        &self.groups
    }

    /// The moves that follow from `transitions` (the last input's, oldest first) and the
    /// members' states as `view` reports them (`None`: not running, left alone).
    pub fn moves(
        &self,
        transitions: &[GroupTransition],
        view: impl Fn(&str) -> Option<MemberView>,
    ) -> Vec<MemberMove> {
        let mut moves = Vec::new();
        for group in &self.groups {
            let members: Vec<(&str, MemberView)> = group
                .instances
                .iter()
                .filter_map(|name| Some((name.as_str(), view(name)?)))
                .filter(|(_, member)| member.state != State::Initialize)
                .collect();
            let mut push = |instance: &str, group_move| {
                moves.push(MemberMove {
                    instance: instance.to_owned(),
                    group: group.name.clone(),
                    group_move,
                });
            };
            if members.iter().any(|(_, member)| member.own_fault) {
                for (name, member) in &members {
                    if !member.held_by_group {
                        push(name, GroupMove::HoldInFault);
                    }
                }
                continue;
            }
            for (name, member) in &members {
                if member.held_by_group {
                    push(name, GroupMove::ReleaseFault);
                }
            }
            for transition in transitions {
                if transition.caused_by_group
                    || self
                        .group_of
                        .get(&transition.instance)
                        .map(|g| &self.groups[*g])
                        != Some(group)
                {
                    continue;
                }
                let others = members
                    .iter()
                    .filter(|(name, _)| *name != transition.instance);
                match (transition.from, transition.to) {
                    (_, State::Master) => {
                        for (name, member) in others {
                            let follows = member.state == State::Backup
                                || (member.state == State::Master && member.handing_over);
                            if follows && !member.held_by_group {
                                push(name, GroupMove::TakeOver);
                            }
                        }
                    }
                    (State::Master, State::Backup) => {
                        for (name, member) in others {
                            if member.state == State::Master && !member.handing_over {
                                push(name, GroupMove::HandOver);
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
        moves
    }
}

/// The state of a group as a whole, which its notify programs hear of (keepalived's group
/// state): FAULT while any member is in Fault; MASTER once every member is master; BACKUP
/// once every member is backup; STOP (Initialize) once none runs. `members` are the members'
/// states, `None` for one not running. While the members are on their way from one of these
/// to another (some master, some backup), the group keeps its state `before`.
pub fn group_state(members: &[Option<State>], before: State) -> State {
    let state = |member: &Option<State>| member.unwrap_or(State::Initialize);
    if members.iter().any(|member| state(member) == State::Fault) {
        return State::Fault;
    }
    for whole in [State::Master, State::Backup, State::Initialize] {
        if members.iter().all(|member| state(member) == whole) {
            return whole;
        }
    }
    before
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn groups() -> SyncGroups {
        SyncGroups::new(&[SyncGroup {
            name: "gw".into(),
            instances: vec!["outside".into(), "inside".into()],
            tracking_weight: false,
        }])
    }

    #[test]
    fn a_group_changes_state_once_its_members_agree_and_faults_at_once() {
        use State::{Backup, Fault, Initialize, Master};
        // Starting: one member up, the other not yet; then both backup.
        assert_eq!(group_state(&[Some(Backup), None], Initialize), Initialize);
        assert_eq!(
            group_state(&[Some(Backup), Some(Backup)], Initialize),
            Backup
        );
        // Taking over: half-way keeps BACKUP, all masters make MASTER.
        assert_eq!(group_state(&[Some(Master), Some(Backup)], Backup), Backup);
        assert_eq!(group_state(&[Some(Master), Some(Master)], Backup), Master);
        // One member's Fault is the group's at once, whatever the others are.
        assert_eq!(group_state(&[Some(Master), Some(Fault)], Master), Fault);
        assert_eq!(group_state(&[Some(Fault), Some(Fault)], Fault), Fault);
        // Stopping one by one: STOP only once none runs.
        assert_eq!(group_state(&[None, Some(Master)], Master), Master);
        assert_eq!(group_state(&[None, Some(Initialize)], Master), Initialize);
    }

    fn member(state: State) -> MemberView {
        MemberView {
            state,
            own_fault: false,
            held_by_group: false,
            handing_over: false,
        }
    }

    fn transition(instance: &str, from: State, to: State) -> GroupTransition {
        GroupTransition {
            instance: instance.into(),
            from,
            to,
            caused_by_group: false,
        }
    }

    fn moves_of(
        groups: &SyncGroups,
        transitions: &[GroupTransition],
        members: &[(&str, MemberView)],
    ) -> Vec<(String, GroupMove)> {
        let members: BTreeMap<&str, MemberView> = members.iter().copied().collect();
        groups
            .moves(transitions, |name| members.get(name).copied())
            .into_iter()
            .map(|found| (found.instance, found.group_move))
            .collect()
    }

    #[test]
    fn a_member_in_fault_holds_every_other_member_in_fault() {
        let faulty = MemberView {
            own_fault: true,
            ..member(State::Fault)
        };
        let moves = moves_of(
            &groups(),
            &[transition("inside", State::Master, State::Fault)],
            &[("outside", member(State::Master)), ("inside", faulty)],
        );
        // The faulty member is held too, so its own recovery alone does not let it out.
        assert_eq!(
            moves,
            [
                ("outside".to_owned(), GroupMove::HoldInFault),
                ("inside".to_owned(), GroupMove::HoldInFault)
            ]
        );
    }

    #[test]
    fn members_leave_fault_together_once_no_member_has_a_fault_of_its_own() {
        let held = MemberView {
            held_by_group: true,
            ..member(State::Fault)
        };
        let still_faulty = MemberView {
            own_fault: true,
            ..held
        };
        assert_eq!(
            moves_of(
                &groups(),
                &[],
                &[("outside", held), ("inside", still_faulty)]
            ),
            []
        );
        assert_eq!(
            moves_of(&groups(), &[], &[("outside", held), ("inside", held)]),
            [
                ("outside".to_owned(), GroupMove::ReleaseFault),
                ("inside".to_owned(), GroupMove::ReleaseFault)
            ]
        );
    }

    #[test]
    fn a_member_becoming_master_takes_the_backups_and_a_handing_over_master_with_it() {
        let handing_over = MemberView {
            handing_over: true,
            ..member(State::Master)
        };
        let groups = SyncGroups::new(&[SyncGroup {
            name: "gw".into(),
            instances: vec!["a".into(), "b".into(), "c".into()],
            tracking_weight: false,
        }]);
        let moves = moves_of(
            &groups,
            &[transition("a", State::Backup, State::Master)],
            &[
                ("a", member(State::Master)),
                ("b", member(State::Backup)),
                ("c", handing_over),
            ],
        );
        assert_eq!(
            moves,
            [
                ("b".to_owned(), GroupMove::TakeOver),
                ("c".to_owned(), GroupMove::TakeOver)
            ]
        );
    }

    #[test]
    fn a_master_falling_back_makes_the_other_masters_hand_over() {
        let moves = moves_of(
            &groups(),
            &[transition("inside", State::Master, State::Backup)],
            &[
                ("outside", member(State::Master)),
                ("inside", member(State::Backup)),
            ],
        );
        assert_eq!(moves, [("outside".to_owned(), GroupMove::HandOver)]);
        let already = MemberView {
            handing_over: true,
            ..member(State::Master)
        };
        let moves = moves_of(
            &groups(),
            &[transition("inside", State::Master, State::Backup)],
            &[("outside", already), ("inside", member(State::Backup))],
        );
        assert_eq!(moves, []);
    }

    #[test]
    fn moves_the_group_caused_are_not_followed() {
        let mut caused = transition("inside", State::Backup, State::Master);
        caused.caused_by_group = true;
        let moves = moves_of(
            &groups(),
            &[caused],
            &[
                ("outside", member(State::Backup)),
                ("inside", member(State::Master)),
            ],
        );
        assert_eq!(moves, []);
    }

    #[test]
    fn stopped_members_and_instances_outside_groups_are_left_alone() {
        let faulty = MemberView {
            own_fault: true,
            ..member(State::Fault)
        };
        let moves = moves_of(
            &groups(),
            &[transition("lonely", State::Backup, State::Master)],
            &[
                ("outside", member(State::Initialize)),
                ("inside", faulty),
                ("lonely", member(State::Master)),
            ],
        );
        assert_eq!(moves, [("inside".to_owned(), GroupMove::HoldInFault)]);
        assert!(SyncGroups::default().is_empty());
        assert!(groups().contains("inside") && !groups().contains("lonely"));
    }

    #[test]
    fn members_weights_are_ignored_unless_the_group_has_tracking_weight() {
        assert!(groups().ignores_weights_of("outside"));
        assert!(!groups().ignores_weights_of("lonely"), "not a member");
        let weighted = SyncGroups::new(&[SyncGroup {
            tracking_weight: true,
            ..groups().groups()[0].clone()
        }]);
        assert!(!weighted.ignores_weights_of("outside"));
    }
}
