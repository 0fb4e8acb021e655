"""Scenarios between neighbours, colleagues, a teacher and a student, and friends."""

from __future__ import annotations

from summarizer.data.sample.dialogue import Dialogue
from summarizer.data.sample.particles import group_subject, with_particle
from summarizer.data.sample.slot_values import AREAS, SlotDrawer

NOISES = ("발소리", "음악소리", "청소기", "세탁기", "강아지", "피아노", "망치질", "드릴")
NOISE_FIXES = {  # how the summary states the neighbour's promise: what the neighbour said
    "매트를 깔기로": "바닥에 매트를 더 깔게요.",
    "밤에 조심하기로": "밤에는 조심할게요.",
    "더 신경 쓰기로": "앞으로 더 신경 쓸게요.",
}
APOLOGIES = (
    "아, 정말 죄송해요. 그렇게 크게 들리는 줄 몰랐어요.",
    "어머, 죄송합니다. 전혀 몰랐네요.",
)


def noise(slots: SlotDrawer) -> tuple[Dialogue, str]:
    """Roles: "A" lives below, "B" above."""
    rng = slots.rng
    upstairs = slots.unit()
    downstairs = f"{int(upstairs[:-2]) - 1}{upstairs[-2:]}호"
    upstairs += "호"
    fix, noise_kind = slots.facets("noise", ("denied", "denied", *NOISE_FIXES), NOISES)
    when, nights = slots.time(21, 23) + "쯤", f"{rng.randint(2, 9)}일째"
    talk = Dialogue()
    talk.say("A", f"안녕하세요, 아래층 {downstairs}에 사는 사람인데요.")
    talk.say("B", f"네, {upstairs}입니다. 무슨 일이세요?")
    talk.say("A", f"벌써 {nights} 밤 {when} {noise_kind} 때문에 잠을 못 자고 있어요.")
    below, above = with_particle(talk["A"], "은"), talk["B"]
    complaint = (f"{downstairs} {below} {nights} {when} {noise_kind} 때문에 "
                 f"{upstairs} {above}에게 항의했")
    if fix == "denied":
        talk.say("B", "저희 집은 아닌데요. 그 시간엔 아무도 없어요.")
        talk.say("A", "그럼 관리사무소에 말해 볼게요.")
        return talk, f"{complaint}지만 {with_particle(above, '은')} 부인했다."
    talk.say("B", rng.choice(APOLOGIES))
    talk.say("B", NOISE_FIXES[fix])
    talk.say("A", "이해해 주셔서 감사해요.")
    return talk, f"{complaint}고 {with_particle(above, '은')} {fix} 했다."


CONFLICTS = {"출장": "죄송한데 그날 저는 출장이 있어요.", "외근": "저는 그날 외근이라 어렵습니다."}


def meeting(slots: SlotDrawer) -> tuple[Dialogue, str]:
    """Roles: "A" calls the meeting; one to three colleagues answer."""
    rng = slots.rng
    project = slots.project()
    (month, day), when, floor = slots.date(), slots.time(9, 17), f"{rng.randint(2, 12)}층"
    conflict, size = slots.facets(
        "meeting", ("agreed", "agreed", "agreed", *CONFLICTS), ("1", "2", "3"))
    members = ["B", "C", "D"][: int(size)]
    talk = Dialogue()
    talk.say("A", f"다음 주에 {project} 회의를 해야 하는데요.")
    talk.say("A", f"{month} {day} {when}에 {floor} 회의실에서 어때요?")
    if conflict != "agreed":
        later = slots.day(day) + "로"
        talk.say(members[0], CONFLICTS[conflict])
        talk.say("A", f"그럼 같은 시간에 {later} 미룹시다.")
        for member in members:
            talk.say(member, rng.choice(("네, 좋습니다.", "그때는 괜찮아요.")))
        group = group_subject([talk[role] for role in ["A", *members]])
        reason = f"{talk[members[0]]}의 {conflict} 때문에"
        moved = f"{floor} {project} 회의를 {month} {day}에서 {later}"
        return talk, f"{group} {reason} {moved} 미뤘다."
    for member in members:
        talk.say(member, rng.choice(("저는 괜찮습니다.", "저도 좋아요.", "네, 그때 가능해요.")))
    name = slots.name()
    talk.say("A", f"{name} 씨가 자료 준비해 주세요.")
    talk.say(members[0], "네, 알겠습니다.")
    group = group_subject([talk[role] for role in ["A", *members]])
    planned = f"{project} 회의를 {month} {day} {when}에 {floor}에서"
    return talk, f"{group} {with_particle(name, '이')} 자료를 맡을 {planned} 열기로 했다."


SUBJECTS = ("국어", "수학", "과학", "사회", "영어", "역사", "미술", "음악")
EXCUSES = {  # how the summary states the student's excuse: what the student said
    "감기 때문에": "감기에 걸려서 자료를 다 못 찾았어요.",
    "조사할 게 많아": "조사할 게 생각보다 많아요.",
    "대회 준비로": "대회 준비 때문에 시간이 없었어요.",
}


def school(slots: SlotDrawer) -> tuple[Dialogue, str]:
    """Roles: "P" is the pupil, "T" the teacher."""
    rng = slots.rng
    student = slots.name()
    outcome, excuse, subject = slots.facets(
        "school", ("granted", "refused"), tuple(EXCUSES), SUBJECTS)
    month, day = slots.date()
    talk = Dialogue()
    grade = f"{rng.randint(1, 3)}학년 {rng.randint(1, 9)}반"
    introduction = f"{grade} {with_particle(student, '이에요')}"
    talk.say("P", f"선생님, {introduction}. {subject} 보고서 때문에 왔어요.")
    talk.say("T", f"{with_particle(student[1:], '아')}, 무슨 일이니?")
    talk.say("P", f"{month} {day}까지 내야 하는데 {EXCUSES[excuse]} 조금만 늦게 내도 될까요?")
    teacher, pupil = with_particle(talk["T"], "은"), f"{grade} {student}인 {talk['P']}"
    late = f"{teacher} {excuse} {subject} 보고서가 늦는 {pupil}에게"
    if outcome == "granted":
        more = f"{rng.randint(2, 7)}일"
        talk.say("T", f"이번만이야. {more} 더 줄게.")
        talk.say("P", "감사합니다, 선생님!")
        return talk, f"{late} {month} {day} 마감을 {more} 미뤄 주었다."
    talk.say("T", f"안 돼. 다른 친구들도 다 맞춰서 내니까 {month} {day}까지 꼭 내.")
    talk.say("P", "네, 알겠습니다. 최대한 해 볼게요.")
    return talk, f"{late} {month} {day}까지 내라고 했다."


ACTIVITIES = {  # summary phrase: suggestion
    "영화를 보기로 했다.": "영화 보러 갈래?",
    "전시회에 가기로 했다.": "새로 생긴 전시회 보러 갈래?",
    "볼링을 치기로 했다.": "볼링 치러 갈래?",
    "밥을 먹기로 했다.": "맛집 가서 밥 먹을래?",
    "자전거를 타기로 했다.": "한강에서 자전거 탈래?",
}


def friends(slots: SlotDrawer) -> tuple[Dialogue, str]:
    """Roles: "A" suggests, "B" agrees, "C" may join."""
    rng = slots.rng
    friend = slots.name()[1:]
    plan, moved, joined = slots.facets(
        "friends", tuple(ACTIVITIES), ("kept", "kept", "moved"), ("two", "two", "three"))
    (month, day), when = slots.date(), slots.time(10, 19)
    spot = slots.place(lambda: f"{rng.choice(AREAS)}역") + "에서"
    talk = Dialogue()
    talk.say("A", f"{with_particle(friend, '아')}, 이번 주말에 뭐 해?")
    talk.say("B", "딱히 계획 없어. 왜?")
    talk.say("A", ACTIVITIES[plan])
    talk.say("B", "좋아! 언제 볼까?")
    talk.say("A", f"{month} {day} {when}에 {spot} 보자.")
    if moved == "moved":
        later = slots.day(day) + "에"
        talk.say("B", f"그날은 알바가 있어. {later} 보면 안 돼?")
        talk.say("A", "좋아, 그날로 하자.")
    else:
        talk.say("B", "응, 그때 봐.")
    if joined == "three":
        talk.say("C", "뭐야, 나도 껴 줘!")
        talk.say("A", "당연하지, 같이 가자.")
    group = group_subject(list(talk.tags.values()))
    if moved == "moved":
        return talk, f"{group} {talk['B']}의 알바로 {month} {later} {when} {spot} {plan}"
    return talk, f"{group} {month} {day} {when}에 {spot} {plan}"
