//! Stage: who is speaking. [`channels`]: stereo recordings with one person per channel;
//! [`roles`]: interviewer or participant, from labels, flags or evidence. Voice diarization of
//! mono recordings (CAM++) arrives with issue 3.

pub mod channels;
pub mod roles;
