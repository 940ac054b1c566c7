from careclub.core.logging import scrub


def test_secrets_never_reach_the_log() -> None:
    line = scrub('POST /invite/acme/s3cr3t-T0ken_x 303 Authorization: Bearer cc_abc_def "password": "hunter22hunter"')
    assert "s3cr3t" not in line and "cc_abc_def" not in line and "hunter22" not in line
    assert "/invite/acme/***" in line
    assert "/api/v1/invites/accept/acme/***" in scrub("/api/v1/invites/accept/acme/zzzsecret")
    assert scrub("postgresql://careclub_app:pw@db:5432/careclub") == "postgresql://careclub_app:***@db:5432/careclub"
