//! Stage: who is speaking. Today: [`roles`] (interviewer or participant, from labels, flags or
//! evidence). Stereo channels and voice diarization arrive with issue 3.

pub mod roles;
