from interplay.transcript import parse_turns


def said(text, turn):
    return text[turn.start:turn.end]


def test_timestamped_numbered_speakers_with_inferred_interviewer():
    text = ("Study header line\n\n[00:00:05] Speaker 1: What is your role?\n"
            "[00:00:09] Speaker 2: I run the contracts team.\n\nIt is a small team.\n"
            "[00:01:10] Speaker 1: And the tender?\n[00:01:12] Speaker 2: We lost it.\n")
    parse = parse_turns(text, default_role="provider")
    assert [t.speaker for t in parse.turns] == ["Speaker 1", "Speaker 2", "Speaker 1", "Speaker 2"]
    assert [t.role for t in parse.turns] == ["interviewer", "provider"] * 2
    assert said(text, parse.turns[1]) == "I run the contracts team.\n\nIt is a small team."
    assert text[:parse.preamble_end].strip() == "Study header line"
    assert "interviewer inferred as 'Speaker 1'" in parse.warnings[0]


def test_role_labels_and_interviewer_labels():
    exchange = ("Interviewer: Thanks for seeing me.\nCommissioner (CCG): Pleasure.\n"
                "INT: What happened next?\nLocal authority officer: The council pooled it.\n"
                "Provider (community trust): We were not consulted.\n")
    roles = [(t.speaker, t.role) for t in parse_turns(exchange * 2, default_role="other").turns]
    assert roles[:5] == [("Interviewer", "interviewer"), ("Commissioner (CCG)", "commissioner"),
                         ("INT", "interviewer"), ("Local authority officer", "local_authority"),
                         ("Provider (community trust)", "provider")]


def test_one_off_colon_phrases_are_not_speakers():
    text = ("Q: Why not tender?\nA: Honestly: nobody else could do it.\n"
            "The point is this: we had one provider.\nQ: Thanks.\n")
    parse = parse_turns(text, default_role="commissioner")
    assert [t.speaker for t in parse.turns] == ["Q", "A", "Q"]
    assert said(text, parse.turns[1]).endswith("The point is this: we had one provider.")


def test_no_labels_means_no_turns():
    parse = parse_turns("Just a memo.\n\nNo speakers here.", default_role="other")
    assert parse.turns == [] and "no speaker labels" in parse.warnings[0]
